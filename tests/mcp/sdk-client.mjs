// SPDX-License-Identifier: GPL-3.0-or-later
// `clochectl mcp` driven by the official MCP TypeScript SDK's client, as an
// agent on the host would: spawned over stdio with a read-write and a
// read-only folder, tools listed (no VM yet), a command run in a real VM,
// a file written and read back in the rw folder, refusals on the ro folder
// and outside the session, a long command cancelled (and gone from the
// guest), the session and the audit log showing the client, the session
// closed when the client leaves. TAP on stdout. Run by run-sdk-test.sh.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const sdk = join(process.env.CLOCHE_MCP_SDK, 'node_modules/@modelcontextprotocol/sdk/dist/esm');
const { Client } = await import(pathToFileURL(join(sdk, 'client/index.js')).href);
const { StdioClientTransport } = await import(pathToFileURL(join(sdk, 'client/stdio.js')).href);

const ctl = process.env.CLOCHE_CTL;
const home = process.env.HOME;
const daemonPid = process.env.CLOCHE_DAEMON_PID;
const rw = join(home, 'rw');
const ro = join(home, 'ro');
const CLIENT = { name: 'cloche-sdk-test', version: '7.1.2' };
// A boot under software emulation on a loaded machine takes tens of
// seconds; the SDK's default of 60 s per request is for servers that are
// up. Progress notifications push the deadline on.
const SLOW = { timeout: 300_000, resetTimeoutOnProgress: true };

let n = 0;
let failed = 0;
function ok (condition, what, detail) {
  n++;
  if (condition) {
    console.log(`ok ${n} - ${what}`);
  } else {
    failed++;
    console.log(`not ok ${n} - ${what}`);
    if (detail !== undefined)
      console.log(`# ${JSON.stringify(detail).slice(0, 2000)}`);
  }
}

function qemuCount () {
  try {
    return Number(execFileSync('pgrep', ['-c', '-P', daemonPid, 'qemu-system']).toString());
  } catch {
    return 0;   // pgrep exits 1 when nothing matches
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function text (result) {
  return result.content.filter((c) => c.type === 'text').map((c) => c.text).join('\n');
}

async function sh (client, command) {
  const result = await client.callTool({ name: 'run_command', arguments: { command } }, undefined, SLOW);
  return result.structuredContent;
}

// The client passes only the environment it is given: the sanitizer
// build's settings go along when there are any.
const sanitizers = Object.fromEntries(['ASAN_OPTIONS', 'LSAN_OPTIONS', 'UBSAN_OPTIONS', 'G_SLICE',
                                       'GIO_USE_PROXY_RESOLVER']
  .filter((name) => process.env[name] !== undefined).map((name) => [name, process.env[name]]));
const serverEnv = {
  PATH: process.env.PATH,
  HOME: home,
  XDG_STATE_HOME: process.env.XDG_STATE_HOME,
  DBUS_SESSION_BUS_ADDRESS: process.env.DBUS_SESSION_BUS_ADDRESS,
  CLOCHE_LOCALEDIR: process.env.CLOCHE_LOCALEDIR ?? '',
  ...sanitizers,
};
// Through a shell that keeps clochectl's exit status: 0 after a clean end
// of its input (under the sanitizers, LeakSanitizer makes it 23 on a leak).
const exitFile = join(home, 'mcp-exit-status');
const transport = new StdioClientTransport({
  command: '/bin/sh',
  args: ['-c', '"$@"; echo $? > "$0"', exitFile, ctl, 'mcp', '--title', 'sdk test',
         '--mount', `${rw}:rw`, '--mount', `${ro}:ro`],
  env: serverEnv,
  stderr: 'inherit',
});
const client = new Client(CLIENT);
await client.connect(transport);
ok(client.getServerVersion()?.name === 'cloche', 'initialize: the server is cloche',
   client.getServerVersion());

const { tools } = await client.listTools();
const names = tools.map((t) => t.name).sort();
ok(JSON.stringify(names) === JSON.stringify(['edit_file', 'list_directory', 'read_file',
                                              'run_command', 'session_info', 'write_file']),
   'tools/list has the six tools', names);
ok(tools.every((t) => t.inputSchema?.type === 'object' && t.outputSchema?.type === 'object'),
   'every tool has an input and an output schema');
ok(qemuCount() === 0, 'initialize and tools/list booted no VM');

// The first call boots the VM and reports progress while it does.
const progress = [];
const hello = await client.callTool({ name: 'run_command',
                                      arguments: { command: 'echo "hello from $(uname -s)"' } },
                                    undefined, { ...SLOW, onprogress: (p) => progress.push(p) });
ok(!hello.isError && hello.structuredContent?.exit_code === 0
   && hello.structuredContent.stdout === 'hello from Linux\n',
   'run_command runs in the VM', hello);
ok(progress.length > 0 && progress.every((p, i) => i === 0 || p.progress > progress[i - 1].progress),
   `progress while the VM booted (${progress.length} notifications, increasing)`,
   progress.slice(0, 3));
ok(qemuCount() === 1, 'the first tool call booted the VM');

const info = (await client.callTool({ name: 'session_info', arguments: {} })).structuredContent;
ok(info?.folders?.length === 2 && info.folders.some((f) => f.path === 'mnt/rw' && f.mode === 'rw')
   && info.folders.some((f) => f.path === 'mnt/ro' && f.mode === 'ro'),
   'session_info lists the folders and their modes', info);

const written = await client.callTool({ name: 'write_file',
                                        arguments: { path: 'mnt/rw/notes/out.txt',
                                                     content: 'written by MCP\nsecond line\n' } },
                                      undefined, SLOW);
ok(!written.isError && readFileSync(join(rw, 'notes/out.txt'), 'utf8') === 'written by MCP\nsecond line\n',
   'write_file writes into the rw folder on the host', written);
const read = await client.callTool({ name: 'read_file', arguments: { path: 'mnt/rw/notes/out.txt', offset: 2 } },
                                   undefined, SLOW);
ok(read.structuredContent?.content === 'second line\n' && read.structuredContent.first_line === 2,
   'read_file reads it back, from a line on', read.structuredContent);

const refused = await client.callTool({ name: 'write_file',
                                        arguments: { path: 'mnt/ro/new.txt', content: 'no' } },
                                      undefined, SLOW);
ok(refused.isError === true && /read-only/.test(text(refused)) && /mnt\/ro/.test(text(refused))
   && !existsSync(join(ro, 'new.txt')),
   'write_file into the ro folder is a tool error naming the mount, and nothing is written',
   text(refused));
const viaShell = await sh(client, 'echo x > mnt/ro/kept.txt');
ok(viaShell.exit_code !== 0 && readFileSync(join(ro, 'kept.txt'), 'utf8') === 'read only\n',
   'a command cannot write the ro folder either', viaShell);

const outside = await client.callTool({ name: 'read_file', arguments: { path: '/etc/passwd' } });
ok(outside.isError === true && /outside the session folder/.test(text(outside)),
   'a path outside the session is a tool error', text(outside));
const escape = await client.callTool({ name: 'list_directory', arguments: { path: 'mnt/../../' } });
ok(escape.isError === true, '.. out of the session folder is refused too', text(escape));

const edited = await client.callTool({ name: 'edit_file',
                                       arguments: { path: 'mnt/rw/notes/out.txt', old_text: 'second',
                                                    new_text: '2nd' } }, undefined, SLOW);
ok(!edited.isError && edited.structuredContent.line === 2
   && readFileSync(join(rw, 'notes/out.txt'), 'utf8') === 'written by MCP\n2nd line\n',
   'edit_file replaces the one occurrence', edited.structuredContent);
const twice = await client.callTool({ name: 'edit_file',
                                      arguments: { path: 'mnt/rw/notes/out.txt', old_text: 'i',
                                                   new_text: 'x' } }, undefined, SLOW);
ok(twice.isError === true && /more than once/.test(text(twice)),
   'edit_file refuses a text found twice', text(twice));

const listed = (await client.callTool({ name: 'list_directory', arguments: { path: 'mnt/rw/notes' } },
                                      undefined, SLOW)).structuredContent;
ok(listed?.total === 1 && listed.entries[0].name === 'out.txt' && listed.entries[0].type === 'file',
   'list_directory lists the folder', listed);

// A 1x1 PNG comes back as an image; other binary is refused with its size.
await sh(client, "printf '\\211PNG\\r\\n\\032\\n\\0\\0\\0\\rIHDR' > pixel.png; "
                 + "head -c 300 /dev/urandom > noise.bin; printf '\\0\\1' >> noise.bin");
const image = await client.callTool({ name: 'read_file', arguments: { path: 'pixel.png' } }, undefined, SLOW);
ok(!image.isError && image.content.some((c) => c.type === 'image' && c.mimeType === 'image/png')
   && image.structuredContent.kind === 'image',
   'read_file gives an image as image content', image.structuredContent);
const binary = await client.callTool({ name: 'read_file', arguments: { path: 'noise.bin' } }, undefined, SLOW);
ok(binary.isError === true && /binary file of 302 bytes/.test(text(binary)),
   'read_file refuses other binary with its size', text(binary));

const slow = await client.callTool({ name: 'run_command',
                                     arguments: { command: 'echo started; sleep 60', timeout_s: 2 } },
                                   undefined, SLOW);
ok(slow.structuredContent?.timed_out === true && slow.structuredContent.stdout === 'started\n'
   && /timeout of 2 s/.test(slow.structuredContent.note),
   'run_command kills a command at its timeout and keeps its output', slow.structuredContent);

const denied = await client.callTool({ name: 'run_command',
                                       arguments: { command: 'wget -q -O- http://example.com/' } },
                                     undefined, SLOW);
ok(denied.structuredContent?.exit_code !== 0
   && denied.structuredContent.egress_denied.some((d) => /^example\.com:80 \(rule "/.test(d))
   && /egress policy refused/.test(denied.structuredContent.note),
   'a refused egress request is named with its rule', denied.structuredContent);

// Cancelling: the command is killed in the guest, with what it started.
const controller = new AbortController();
const long = client.callTool({ name: 'run_command', arguments: { command: 'sleep 701 & sleep 702' } },
                             undefined, { ...SLOW, signal: controller.signal });
let running = 0;
for (let i = 0; i < 60 && running < 2; i++) {
  await sleep(500);
  running = Number((await sh(client, 'ps -o args | grep -c "^sleep 70[12]"')).stdout);
}
ok(running === 2, 'the long command runs in the guest', running);
controller.abort('the test changed its mind');
let rejected = false;
try {
  await long;
} catch {
  rejected = true;
}
ok(rejected, 'the cancelled call ends on the client');
let left = 2;
for (let i = 0; i < 60 && left > 0; i++) {
  await sleep(500);
  left = Number((await sh(client, 'ps -o args | grep -c "^sleep 70[12]"')).stdout);
}
ok(left === 0, 'the cancelled command is gone from the guest, with its child', left);

const show = JSON.parse(execFileSync(ctl, ['session', 'show', info.session_id, '--json']).toString());
ok(show.client === `${CLIENT.name} ${CLIENT.version} (MCP)` && show.state === 'open',
   'the session shows the MCP client as its client', show);

// A second server given the session with --session works in it, and
// leaves it open when its client goes.
const adopting = new Client({ name: 'second', version: '1' });
await adopting.connect(new StdioClientTransport({
  command: ctl, args: ['mcp', '--session', info.session_id], env: serverEnv,
  stderr: 'inherit' }));
const adopted = await adopting.callTool({ name: 'run_command', arguments: { command: 'cat mnt/rw/notes/out.txt' } },
                                        undefined, SLOW);
ok(adopted.structuredContent?.stdout?.startsWith('written by MCP'),
   '--session works in the given session', adopted.structuredContent);
await adopting.close();
await sleep(1000);
ok(JSON.parse(execFileSync(ctl, ['session', 'show', info.session_id, '--json']).toString()).state === 'open',
   'a session given with --session stays open when its client leaves');

await client.close();
let state = 'open';
for (let i = 0; i < 50 && state === 'open'; i++) {
  await sleep(200);
  state = JSON.parse(execFileSync(ctl, ['session', 'show', info.session_id, '--json']).toString()).state;
}
ok(state === 'closed', 'the session closes when the client leaves', state);
for (let i = 0; i < 50 && !existsSync(exitFile); i++)
  await sleep(200);
ok(existsSync(exitFile) && readFileSync(exitFile, 'utf8') === '0\n',
   'clochectl mcp exits with status 0 at the end of its input',
   existsSync(exitFile) ? readFileSync(exitFile, 'utf8') : 'no status');

const audit = readFileSync(join(process.env.XDG_STATE_HOME, 'cloche/audit.jsonl'), 'utf8')
  .split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))
  .filter((e) => e.event === 'mcp.tool-call');
const ours = audit.filter((e) => e.fields.client === CLIENT.name);
ok(ours.length >= 19 && ours.every((e) => e.fields['client-version'] === CLIENT.version
                                          && e.session === info.session_id)
   && audit.filter((e) => e.fields.client === 'second').length === 1
   && audit.length === ours.length + 1,
   `every tool call is in the audit log with its client (${ours.length} + 1 lines)`, audit.slice(0, 2));
ok(audit.some((e) => e.fields.tool === 'run_command' && e.fields.cancelled === true),
   'the cancelled call is logged as cancelled');
ok(audit.some((e) => e.fields.tool === 'write_file' && e.fields['is-error'] === true
                     && /read-only/.test(e.fields.error)),
   'the refused write is logged with its error');

console.log(`1..${n}`);
process.exit(failed > 0 ? 1 : 0);
