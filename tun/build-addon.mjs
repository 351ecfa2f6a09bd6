#!/usr/bin/env node
// Builds the TUN addon (tun/build/Release/tun.node) with node-gyp. The
// package's `install` script and `make addon` both run it, so a clone and an
// installed package build the same way.
//
// node-gyp builds against the headers of the node that runs this script when
// they are installed beside it (no download: not every machine reaches
// nodejs.org); otherwise node-gyp finds or fetches headers itself. node-gyp is
// the clone's own (node_modules/.bin) when there is one, else the one on PATH:
// npm puts its bundled node-gyp there for install scripts.
//
// In the packed package the compiled modules live under dist/, and
// dist/tun/native.js loads ./build/Release/tun.node from its own directory:
// the built addon is copied there too.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const tunDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(tunDir);
const built = join(tunDir, 'build', 'Release', 'tun.node');

const nodeDir = resolve(process.execPath, '..', '..');
const nodeDirFlags = existsSync(join(nodeDir, 'include', 'node', 'node_api.h')) ? [`--nodedir=${nodeDir}`] : [];

const localGyp = join(root, 'node_modules', '.bin', 'node-gyp');
const gyp = existsSync(localGyp) ? localGyp : 'node-gyp';

const result = spawnSync(gyp, ['rebuild', '--loglevel=error', ...nodeDirFlags], { cwd: tunDir, stdio: 'inherit' });
if (result.error) {
  const why = result.error.code === 'ENOENT' ? 'node-gyp is not installed (npm ships one; or: npm install -g node-gyp)' : result.error.message;
  console.error(`tcpstack: cannot build the TUN addon: ${why}`);
  process.exit(1);
}
if (result.status !== 0) {
  console.error(`tcpstack: building the TUN addon failed (node-gyp ${result.signal ?? `exit ${result.status}`}): it needs python3, make and a C compiler`);
  process.exit(1);
}

const packed = join(root, 'dist', 'tun');
if (existsSync(join(packed, 'native.js'))) {
  mkdirSync(join(packed, 'build', 'Release'), { recursive: true });
  copyFileSync(built, join(packed, 'build', 'Release', 'tun.node'));
}
