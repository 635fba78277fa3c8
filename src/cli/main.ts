import { Command } from 'commander';
import { registerServe } from './serve.js';

const program = new Command();
program
  .name('polar')
  .description('Polar: self-hosted platform for the whole life of AI models')
  .version('0.1.0')
  .showHelpAfterError();

registerServe(program);

await program.parseAsync(process.argv);
