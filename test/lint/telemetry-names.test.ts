import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The Biome plugin that keeps telemetry names in the vocabulary (packages/telemetry/lint/telemetry-names.grit),
 * run by the real Biome binary: over a file of cases, each marked with whether it must be rejected, and over
 * the repository's sources with the repository's biome.json.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PLUGIN = join(ROOT, 'packages/telemetry/lint/telemetry-names.grit');
const BIOME = createRequire(import.meta.url).resolve('@biomejs/biome/bin/biome');

/** Line numbers that carry a diagnostic of the plugin (GitHub reporter: one line per diagnostic). */
async function pluginDiagnostics(cwd: string, args: string[]): Promise<string[]> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [BIOME, 'lint', '--reporter=github', '--max-diagnostics=none', ...args],
    { cwd, maxBuffer: 16 * 1024 * 1024 },
  ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
  return stdout.split('\n').filter((line) => line.includes('title=plugin'));
}

// [code, rejected]
const CASES: [string, boolean][] = [
  ["span.setAttribute('flowtrace.node.id', id);", true],
  ['span.setAttribute("attempt", n);', true],
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the case is source text with a template literal
  ['span?.setAttribute(`flowtrace.${name}`, 1);', true],
  ["trace.getActiveSpan()?.setAttribute('x.y', 1);", true],
  ['span.setAttribute(FlowtraceAttributes.NODE_ID, id);', false],
  ["span.addEvent('node.retried');", true],
  ["span.addEvent('node.retried', { [A]: 1 });", true],
  ['span.addEvent(FlowtraceEvents.NODE_RETRIED, { [A]: 1 });', false],
  ["span.addEvent(FlowtraceEvents.NODE_RETRIED, { 'retry.delay_ms': 1 });", true],
  ['span.addEvent(FlowtraceEvents.NODE_RETRIED, { attempt: 1 });', true],
  ["span.setAttributes({ [A]: 1, 'a.b': 2 });", true],
  ['span.setAttributes({ [A]: 1, attempt });', true],
  ['span.setAttributes({ [A]: 1, ...rest });', false],
  ['span.setAttributes({ [A]: JSON.stringify({ id: 1 }) });', false],
  ['span.setAttributes({ [A]: 1, ...(ok ? { count: 2 } : {}) });', true],
  ["tracer.startSpan('send q', { kind, attributes: { 'messaging.system': 'bullmq' } });", true],
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the case is source text with a template literal
  ['tracer.startSpan(`send ${queue}`, { kind, attributes: { [A]: 1, ...(r ? { [B]: r } : {}) } });', false],
  ["export const links = [{ context, attributes: { kind: 'replay_of' } }];", true],
  ['counter.add(1, { [A]: 1, outcome });', true],
  ['histogram.record(0.5, { [A]: 1 });', false],
  ["gauge.observe(3, { state: 'waiting' });", true],
  ["export const base = { [A]: 1, 'gen_ai.operation.name': op };", true],
  ["export const events = { 'node.started': 'running', 'Content-Type': 'text/plain' };", false],
  ['set.add(1);', false],
];

describe('telemetry-names Biome plugin', () => {
  const dir = mkdtempSync(join(tmpdir(), 'telemetry-names-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('rejects literal attribute and event names, and only those', async () => {
    writeFileSync(
      join(dir, 'biome.json'),
      JSON.stringify({
        plugins: [PLUGIN],
        linter: { rules: { preset: 'none' } },
        files: { includes: ['**/*.ts'] },
      }),
    );
    writeFileSync(join(dir, 'cases.ts'), `${CASES.map(([code]) => code).join('\n')}\n`);
    const diagnostics = await pluginDiagnostics(dir, ['cases.ts']);
    const rejected = new Set(diagnostics.map((line) => Number(/,line=(\d+),/.exec(line)?.[1])));
    const expected = CASES.flatMap(([code, reject], i) => (reject ? [`${i + 1}: ${code}`] : []));
    expect(CASES.flatMap(([code], i) => (rejected.has(i + 1) ? [`${i + 1}: ${code}`] : []))).toEqual(
      expected,
    );
  });

  it('biome.json applies it to the sources, not to tests or the vocabulary, and the sources pass', async () => {
    // The repository's biome.json and the plugin, in a copy of the layout the config's globs name.
    const config = JSON.parse(readFileSync(join(ROOT, 'biome.json'), 'utf8')) as Record<string, unknown>;
    const layout = join(dir, 'layout');
    const files: Record<string, boolean> = {
      'packages/engine/src/dispatch.ts': true,
      'bench/lib/analysis.ts': true,
      'packages/engine/src/dispatch.test.ts': false,
      'test/e2e/fleet.ts': false,
      'packages/telemetry/src/semconv.ts': false,
      'packages/telemetry/src/attributes.ts': false,
    };
    for (const path of [...Object.keys(files), 'packages/telemetry/lint/telemetry-names.grit']) {
      mkdirSync(dirname(join(layout, path)), { recursive: true });
    }
    copyFileSync(PLUGIN, join(layout, 'packages/telemetry/lint/telemetry-names.grit'));
    const { $schema: _schema, ...rest } = config;
    writeFileSync(join(layout, 'biome.json'), JSON.stringify({ ...rest, vcs: { enabled: false } }));
    for (const path of Object.keys(files)) {
      writeFileSync(join(layout, path), "export const f = (span: Span) => span.setAttribute('x.y', 1);\n");
    }
    const flagged = (await pluginDiagnostics(layout, Object.keys(files))).map(
      (line) => /file=([^,]+),/.exec(line)?.[1]?.slice(layout.length + 1) ?? line,
    );
    expect(flagged.sort()).toEqual(
      Object.entries(files)
        .filter(([, reject]) => reject)
        .map(([path]) => path)
        .sort(),
    );

    expect(await pluginDiagnostics(ROOT, ['packages', 'apps', 'bench', 'scripts'])).toEqual([]);
  });
});
