// The local Hub (fake-hub.ts) as a process for the e2e scenario: serves the bundled tiny model
// (examples/tiny-llama) as acme/tiny-llama on 127.0.0.1, prints {"endpoint": ...} as its first
// stdout line, and stops on SIGTERM or when stdin closes.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeHub, smallRepo } from './fake-hub';

const tiny = join(__dirname, '../../../examples/tiny-llama');
const files = Object.fromEntries(readdirSync(tiny).map((name) => [name, readFileSync(join(tiny, name))]));
const hub = new FakeHub([{ ...smallRepo('acme/tiny-llama'), files }]);

void hub.start().then(() => {
  process.stdout.write(`${JSON.stringify({ endpoint: hub.endpoint })}\n`);
  const stop = () => void hub.stop().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
});
