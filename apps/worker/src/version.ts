import pkg from '../../../package.json' with { type: 'json' };

/** The product version, reported as `service.version` and in the OpenAPI document. */
export const VERSION: string = pkg.version;
