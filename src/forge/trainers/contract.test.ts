import { describe, expect, it } from 'vitest';
import { lineSplitter, parseReport, renderArgs, trainerEnv, unknownPlaceholders } from './contract.js';

const values = { dataset_path: '/d/data.csv', params_path: '/w/params.json', output_dir: '/o', job_id: 'J1' };

describe('argument templates', () => {
  it('fills every known placeholder, as often as it appears, and leaves other text alone', () => {
    expect(
      renderArgs(
        [
          'train.py',
          '--data={dataset_path}',
          '{output_dir}/{job_id}',
          '{{literal}}',
          'a {b c}',
          '{job_id}{job_id}',
        ],
        values,
      ),
    ).toEqual(['train.py', '--data=/d/data.csv', '/o/J1', '{{literal}}', 'a {b c}', 'J1J1']);
  });

  it('a value is never read as a template again', () => {
    expect(renderArgs(['{dataset_path}'], { ...values, dataset_path: '/x/{output_dir}' })).toEqual([
      '/x/{output_dir}',
    ]);
  });

  it('names unknown placeholders so a typo is refused at registration', () => {
    expect(unknownPlaceholders('--in {dataset} --out {output_dir} {params}')).toEqual(['dataset', 'params']);
    expect(unknownPlaceholders('{ not a placeholder }')).toEqual([]);
  });
});

describe('reports on standard output', () => {
  const parse = (line: string) => parseReport(line, 100);

  it('reads progress (clamped), metrics, logs, final metrics and errors', () => {
    expect(parse('{"progress": 0.4}')).toEqual({ type: 'progress', fraction: 0.4 });
    expect(parse('{"progress": 7}')).toEqual({ type: 'progress', fraction: 1 });
    expect(parse('{"progress": -1}')).toEqual({ type: 'progress', fraction: 0 });
    expect(parse('{"metric": "loss", "value": 0.3, "step": 5.7}')).toEqual({
      type: 'metric',
      name: 'loss',
      value: 0.3,
      step: 5,
    });
    expect(parse('{"metric": "loss", "value": 0.3}')).toMatchObject({ step: 0 });
    expect(parse('{"log": "hi", "level": "warn"}')).toEqual({ type: 'log', level: 'warn', message: 'hi' });
    expect(parse('{"log": "hi", "level": "fatal"}')).toEqual({ type: 'log', level: 'info', message: 'hi' });
    expect(parse('{"metrics": {"f1": 0.9}}')).toEqual({ type: 'metrics', metrics: { f1: 0.9 } });
    expect(parse('{"error": "bad lr", "permanent": true}')).toEqual({
      type: 'error',
      message: 'bad lr',
      permanent: true,
    });
  });

  it('keeps anything else as a log line, bounded', () => {
    for (const line of ['epoch 3 done', '{not json', '[1,2]', '{"metric": "loss", "value": "x"}', '{"a": 1}'])
      expect(parse(line)).toEqual({ type: 'log', level: 'info', message: line });
    expect(parse(`x${'y'.repeat(500)}`)).toMatchObject({ message: `x${'y'.repeat(99)}` });
    expect(parse('{"progress": null}').type).toBe('log');
  });

  it('splits chunks into lines wherever the chunks break', () => {
    const lines: string[] = [];
    const s = lineSplitter(10, (l) => lines.push(l));
    s.push('{"progr');
    s.push('ess": 1}\nplain\r\n\n');
    s.push('tail');
    s.end();
    expect(lines).toEqual(['{"progress": 1}', 'plain', 'tail']);
  });
});

describe('the trainer environment', () => {
  it("passes only programs' and locales' variables of the host, the trainer's own, then the contract's", () => {
    const env = trainerEnv(
      {
        PATH: '/usr/bin',
        HOME: '/root',
        LANG: 'C.UTF-8',
        POLAR_DATABASE_URL: 'postgres://secret',
        POLAR_SECRET_KEY: 'k',
        AWS_SECRET_ACCESS_KEY: 's',
        NODE_OPTIONS: '--inspect',
      },
      { HF_TOKEN: 'hf_x', POLAR_JOB_ID: 'forged' },
      {
        datasetPath: '/d',
        datasetFormat: 'csv',
        paramsPath: '/p',
        outputDir: '/o',
        jobId: 'J1',
        attempt: 2,
      },
    );
    expect(env).toEqual({
      PATH: '/usr/bin',
      HOME: '/root',
      LANG: 'C.UTF-8',
      HF_TOKEN: 'hf_x',
      POLAR_DATASET_PATH: '/d',
      POLAR_DATASET_FORMAT: 'csv',
      POLAR_PARAMS_PATH: '/p',
      POLAR_OUTPUT_DIR: '/o',
      POLAR_JOB_ID: 'J1',
      POLAR_ATTEMPT: '2',
    });
  });
});
