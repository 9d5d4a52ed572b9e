#!/usr/bin/env node
// The heatkv CLI: TypeScript sources run through tsx (a dependency), no build step.
import { register } from "tsx/esm/api";

register();
await import("../cli/cli.ts");
