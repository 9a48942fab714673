export { buildRunViewer } from './build.ts';
export { CHROMIUM_ARGS, CHROMIUM_PATH, type HeadlessChromium, launchChromium } from './chromium.ts';
