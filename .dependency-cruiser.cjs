/**
 * The architecture of tcpstack, checked on every `make test` (`make deps-check`).
 * Each rule below is one sentence of the design; a violation fails the build.
 *
 *   cli/    the command line: composes tun/ and stack/, holds no protocol logic
 *   tun/    the host side: TUN device, real-time driver, impairments, pcap,
 *           and the Node-shaped sockets (tun/node/); the package entry is tun/index.ts
 *   stack/  the sans-I/O TCP/IP stack: packets in, packets out, time injected
 *     stack/wire/    byte codecs (IPv4, TCP, UDP, ICMP headers, checksums)
 *     stack/tcp/     the TCP protocol machine
 *     stack/socket/  the BSD-shaped Endpoint over stack/tcp/
 *   test/   may import anything
 *
 * Dependencies point one way: cli → tun → stack, and cli → stack.
 * Type-only imports count (`tsPreCompilationDeps`): a type is a dependency too.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'stack-not-to-host',
      severity: 'error',
      comment:
        'stack/ is the sans-I/O core: it is driven by whatever carries its packets and keeps its time ' +
        '(a TUN device, an in-memory wire, a packet-script runner), so it never knows about the host side ' +
        '(tun/) or the command line (cli/). Put the code that needs them in tun/ or cli/ and inject it.',
      from: { path: '^stack/' },
      to: { path: '^(tun|cli)/' },
    },
    {
      name: 'tun-not-to-cli',
      severity: 'error',
      comment:
        'tun/ is the library a Node program imports (the package entry is tun/index.ts); cli/ is one ' +
        'such program. A library that imports its command line drags option parsing and printing into ' +
        'every program that uses it: move what is shared from cli/ into tun/.',
      from: { path: '^tun/' },
      to: { path: '^cli/' },
    },
    {
      name: 'stack-no-node-builtins',
      severity: 'error',
      comment:
        'Nothing under stack/ touches the host: no file descriptors, timers, clocks, processes or ' +
        'crypto from Node. Time, randomness and the link are injected (Clock, Random, PacketSink), ' +
        'so the same stack runs in real time over a TUN device and in virtual time in tests and ' +
        'packet scripts, bit for bit repeatable. Host facilities belong in tun/ (e.g. tun/driver.ts).',
      from: { path: '^stack/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'stack-no-npm-packages',
      severity: 'error',
      comment:
        'stack/ is self-contained TypeScript: it uses no npm package, not even as a type, so it ' +
        'ports anywhere (browser, Deno, a worker) and its behaviour is all in this repository. ' +
        'Test oracles (such as ip-packet) are used from test/ only.',
      from: { path: '^stack/' },
      to: {
        dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-bundled', 'npm-no-pkg', 'npm-unknown'],
      },
    },
    {
      name: 'wire-self-contained',
      severity: 'error',
      comment:
        'stack/wire/ is the bottom layer: pure codecs from bytes to fields and back. It depends on ' +
        'nothing else (not the IP layer, not TCP, not the counters), so every layer above may use it ' +
        'and it can be tested and benchmarked alone.',
      from: { path: '^stack/wire/' },
      to: { pathNot: '^stack/wire/' },
    },
    {
      name: 'tcp-not-to-socket-or-stack',
      severity: 'error',
      comment:
        'stack/tcp/ is the protocol machine; stack/socket/ (the BSD Endpoint) is built on it and ' +
        'stack/stack.ts assembles the layers. TCP reaches what it needs through its TcpContext ' +
        '(clock, timers, counters, IP output), never through the socket layer or the Stack object: ' +
        'otherwise the layers cannot be understood or tested one at a time.',
      from: { path: '^stack/tcp/' },
      to: { path: '^stack/(socket/|stack[.]ts$)' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'No module depends on itself through others, type-only imports included. A cycle means two ' +
        'modules are one module in two files: neither can be read, tested or replaced alone, and the ' +
        'order in which they initialise decides whether a value is there. Break it by moving the ' +
        'shared part (often a type) into a module both import, or by injecting a callback.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'package-no-dev-dependencies',
      severity: 'error',
      comment:
        'stack/ and tun/ are what the npm package ships (compiled from tun/index.ts). The package ' +
        'is installed without devDependencies, so an import of one from there would fail at the ' +
        "user's runtime (or, for a type, in the user's type check), not in our tests. Node's own " +
        'types (@types/node) are the exception: a Node program has them.',
      from: { path: '^(stack|tun)/' },
      to: {
        dependencyTypes: ['npm-dev'],
        pathNot: ['node_modules/@types/'],
      },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment:
        'An import that resolves to no file: a typo, a file moved without its importers, or an npm ' +
        'package missing from package.json.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Type-only imports and re-exports are dependencies too (they can form cycles).
    tsPreCompilationDeps: true,
    // Resolve exactly as tsc does: NodeNext with `.ts` specifiers.
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|tun/build)/' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
