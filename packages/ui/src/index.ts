export { UI_DIST_DIR } from './dist-dir.ts';
