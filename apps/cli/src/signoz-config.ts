import { z } from 'zod';

/** Environment of `npm run signoz:provision`; parsed once, in the CLI. */
export function signozConfigSchema(options: { dryRun: boolean }) {
  return z
    .object({
      /** Where SigNoz's UI and API answer, e.g. http://localhost:8080 or https://<team>.signoz.cloud. */
      SIGNOZ_URL: z
        .url({
          protocol: /^https?$/,
          error: 'SIGNOZ_URL must be an http(s) URL such as http://localhost:8080',
        })
        .transform((url) => url.replace(/\/+$/, ''))
        .optional(),
      /** A SigNoz API key (Settings → API keys / service account) with the Editor or Admin role. */
      SIGNOZ_API_KEY: z.string().trim().min(1).optional(),
      /** Comma-separated notification channel names for alert thresholds whose file names none. */
      SIGNOZ_ALERT_CHANNELS: z
        .string()
        .optional()
        .transform((value) =>
          (value ?? '')
            .split(',')
            .map((name) => name.trim())
            .filter(Boolean),
        ),
    })
    .superRefine((env, ctx) => {
      // A dry run only reads the files, so it needs neither.
      if (options.dryRun) return;
      if (!env.SIGNOZ_URL) {
        ctx.addIssue({
          code: 'custom',
          path: ['SIGNOZ_URL'],
          message: 'SIGNOZ_URL is not set (e.g. http://localhost:8080)',
        });
      }
      if (!env.SIGNOZ_API_KEY) {
        ctx.addIssue({ code: 'custom', path: ['SIGNOZ_API_KEY'], message: 'SIGNOZ_API_KEY is not set' });
      }
    });
}

export type SignozConfig = z.infer<ReturnType<typeof signozConfigSchema>>;

/** Parses the environment, or returns the problems as lines for the user. */
export function parseSignozConfig(
  env: Record<string, string | undefined>,
  options: { dryRun: boolean },
): { ok: true; config: SignozConfig } | { ok: false; problems: string[] } {
  const result = signozConfigSchema(options).safeParse(env);
  if (result.success) return { ok: true, config: result.data };
  return { ok: false, problems: result.error.issues.map((issue) => issue.message) };
}
