import { ConfigError, loadCliConfig } from '../config.js';
import { EXIT } from './errors.js';
import { stdinPrompter, stdinTerminal } from './lines.js';
import { runCli } from './program.js';

let config: ReturnType<typeof loadCliConfig>;
try {
  config = loadCliConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(EXIT.usage);
}

const prompter = stdinPrompter();
const code = await runCli(process.argv.slice(2), {
  config,
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  prompter,
  stderr: process.stderr,
  stdout: process.stdout,
  // Only one of prompter and terminal reads standard input in a run: commands use one or the other.
  terminal: () => stdinTerminal(),
  onInterrupt: (handler) => {
    let presses = 0;
    // A second Ctrl-C ends the process at once, in case the first one's cleanup hangs.
    const listener = () => (++presses > 1 ? process.exit(130) : handler());
    process.on('SIGINT', listener);
    return () => process.off('SIGINT', listener);
  },
});
// Standard input is opened only when a command asked something; release it so the process can end.
prompter.close();
// Not process.exit(): `serve` keeps running after its command returns, and pending output drains.
process.exitCode = code;
