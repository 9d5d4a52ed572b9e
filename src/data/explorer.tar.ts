// Head-explorer data (jobs/explorer.ts): index.json, heads.arrow and image-<i>.bin for the chosen images.
import {buildExplorerData} from "../../jobs/explorer.js";

process.stdout.write(await buildExplorerData());
