// Headless Debian chromium through playwright-core: one executable path and one set of flags for the e2e
// tests, the browser runtime (calibration/bench) and the explorer benchmark.
import { type Browser, chromium } from "playwright-core";

export const CHROMIUM = process.env.HEATKV_CHROMIUM ?? "/usr/bin/chromium";
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** `webgpu: true` adds --enable-unsafe-webgpu (headless chromium then offers a SwiftShader adapter). */
export function launchChromium({ webgpu }: { webgpu: boolean }): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_FLAGS, ...(webgpu ? ["--enable-unsafe-webgpu"] : [])] });
}
