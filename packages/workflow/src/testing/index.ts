export { hostileJson, hostileString, nestedJson, nestedJsonText } from './hostile-json.ts';
