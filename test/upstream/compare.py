#!/usr/bin/env python3
"""Run packetdrill's upstream TCP suites through `tcpstack pkt` and, given a
packetdrill binary, through the real kernel, and compare the verdicts.

The suites are not part of this repository (they are another project's):
fetch them where you run this. docs/upstream-suites.md says how, and holds
the latest table of results with the reason for every difference. TCPSTACK=PATH
runs another checkout's tcpstack.

    test/upstream/compare.py --suite gtests=PATH/gtests/net/tcp \\
        --suite kselftest=PATH/tools/testing/selftests/net/packetdrill \\
        [--packetdrill PATH/packetdrill] [--jobs 6] [--out DIR] [GLOB...]

Each script runs in the IP versions its suite's own runner uses, with that
runner's arguments (run_all.py for gtests, ksft_runner.sh for kselftest):
the same argument list is given to both. Under the kernel every run is in a
throw-away network namespace, deleted afterwards, also on failure or
timeout. Results go to DIR/results.json and DIR/logs/, the table to stdout.
"""

import argparse
import concurrent.futures
import fnmatch
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TCPSTACK = os.environ.get('TCPSTACK', os.path.join(ROOT, 'cli', 'tcpstack'))

V4 = ['--ip_version=ipv4', '--local_ip=192.168.0.1', '--gateway_ip=192.168.0.1',
      '--netmask_ip=255.255.0.0', '--remote_ip=192.0.2.1']
V4_MAPPED = ['--ip_version=ipv4-mapped-ipv6', '--local_ip=192.168.0.1', '--gateway_ip=192.168.0.1',
             '--netmask_ip=255.255.0.0', '--remote_ip=192.0.2.1']
V6 = ['--ip_version=ipv6', '--mtu=1520', '--local_ip=fd3d:0a0b:17d6::1',
      '--gateway_ip=fd3d:0a0b:17d6:8888::1', '--remote_ip=fd3d:fa7b:d17d::1']

# run_all.py (google/packetdrill gtests/net/packetdrill): three versions, --send_omit_free.
GTESTS_VARIANTS = {
    'ipv4': ['--send_omit_free'] + V4 + ['-D', 'TFO_COOKIE=3021b9d889017eeb', '-D', 'CODE=host_unreachable',
                                          '-D', 'CMSG_LEVEL_IP=SOL_IP', '-D', 'CMSG_TYPE_RECVERR=IP_RECVERR'],
    'ipv4-mapped-ipv6': ['--send_omit_free'] + V4_MAPPED + ['-D', 'TFO_COOKIE=3021b9d889017eeb', '-D', 'CODE=host_unreachable',
                                                          '-D', 'CMSG_LEVEL_IP=SOL_IPV6', '-D', 'CMSG_TYPE_RECVERR=IPV6_RECVERR'],
    'ipv6': ['--send_omit_free'] + V6 + ['-D', 'TFO_COOKIE=c1d1e9742a47a9bc',
                                          '-D', 'CMSG_LEVEL_IP=SOL_IPV6', '-D', 'CMSG_TYPE_RECVERR=IPV6_RECVERR'],
}

# ksft_runner.sh (the kernel's tools/testing/selftests/net/packetdrill): ipv4 and ipv6,
# or only the one a script's own `--ip_version=` line names.
KSELFTEST_VARIANTS = {
    'ipv4': V4 + ['-D', 'TFO_COOKIE=3021b9d889017eeb', '-D', 'TFO_COOKIE_ZERO=b7c12350a90dc8f5',
                  '-D', 'CMSG_LEVEL_IP=SOL_IP', '-D', 'CMSG_TYPE_RECVERR=IP_RECVERR'],
    'ipv6': V6 + ['-D', 'TFO_COOKIE=c1d1e9742a47a9bc', '-D', 'TFO_COOKIE_ZERO=82af1a8f9a205c34',
                  '-D', 'CMSG_LEVEL_IP=SOL_IPV6', '-D', 'CMSG_TYPE_RECVERR=IPV6_RECVERR'],
}

SUITES = {'gtests': GTESTS_VARIANTS, 'kselftest': KSELFTEST_VARIANTS}


def find_scripts(suite, path):
    """Every *.pkt under path (gtests), or the tcp_*.pkt directly in it (kselftest)."""
    found = []
    for dirpath, _, names in os.walk(path):
        for name in fnmatch.filter(names, '*.pkt'):
            if suite == 'kselftest' and not name.startswith('tcp_'):
                continue
            found.append(os.path.relpath(os.path.join(dirpath, name), path))
    return sorted(found)


def variants_for(suite, path, script):
    """run_all.py's rule: *v4.pkt only in the IPv4 versions, *v6.pkt only in ipv6; ksft_runner.sh's:
    the versions a script's own `--ip_version=` lines name, else both."""
    names = list(SUITES[suite])
    if suite == 'kselftest':
        with open(os.path.join(path, script)) as f:
            own = [l.split('=', 1)[1].strip() for l in f if l.startswith('--ip_version=')]
        return [v for v in names if v in own] if own else names
    if script.endswith('v6.pkt'):
        names = [v for v in names if v == 'ipv6']
    elif script.endswith('v4.pkt'):
        names = [v for v in names if v != 'ipv6']
    return names


def run_linux(packetdrill, script_path, args, timeout):
    """The real packetdrill against the kernel, in a namespace of its own."""
    netns = 'tcpstack-pd-' + uuid.uuid4().hex[:10]
    subprocess.run(['ip', 'netns', 'add', netns], check=True)
    try:
        subprocess.run(['ip', '-netns', netns, 'link', 'set', 'lo', 'up'], check=True)
        try:
            p = subprocess.run(['ip', 'netns', 'exec', netns, packetdrill] + args + [os.path.basename(script_path)],
                               cwd=os.path.dirname(script_path), capture_output=True, text=True, timeout=timeout)
            return ('PASS' if p.returncode == 0 else 'FAIL'), p.stdout + p.stderr
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b'').decode(errors='replace') + (e.stderr or b'').decode(errors='replace')
            return 'TIMEOUT', out
    finally:
        subprocess.run(['ip', 'netns', 'del', netns])


VERDICTS = ('PASS', 'FAIL', 'INVALID', 'SKIP')


def run_ours(directory, scripts, args, timeout):
    """`tcpstack pkt` with the same arguments, run from the scripts' directory as packetdrill is.
    One process for all of a directory's scripts (a Node start costs more than most scripts);
    returns {script name: (verdict, its lines)}. A script the batch did not report on (a crash,
    the time limit) is run alone."""
    out = {}
    try:
        p = subprocess.run([TCPSTACK, 'pkt'] + args + scripts, cwd=directory, capture_output=True, text=True,
                           timeout=timeout * len(scripts))
        current = None
        for line in p.stdout.splitlines():
            word, _, rest = line.partition(' ')
            name = rest.split(' (', 1)[0]
            if word in VERDICTS and name in scripts:
                current = name
                out[name] = [word, line + '\n']
            elif current is not None and line.startswith('  '):
                out[current][1] += line + '\n'
            else:
                current = None
        if p.returncode == 2 and not out:
            return {name: ('USAGE', p.stdout + p.stderr) for name in scripts}
    except subprocess.TimeoutExpired:
        pass
    for name in scripts:
        if name not in out:
            if len(scripts) == 1:
                out[name] = ['FAIL', 'no verdict: tcpstack pkt crashed or took too long\n']
            else:
                out[name] = list(run_ours(directory, [name], args, timeout)[name])
    return {name: (v, log) for name, (v, log) in out.items()}


def first_error(log):
    """The line that says why: the first `file:line: ...error...` or `not supported` line."""
    for line in log.splitlines():
        s = line.strip()
        if re.search(r'error|not supported|assert|Traceback', s, re.I) and not s.startswith(('PASS', 'FAIL', 'INVALID')):
            return s
    lines = [l.strip() for l in log.splitlines() if l.strip()]
    return lines[-1] if lines else ''


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--suite', action='append', required=True, metavar='NAME=PATH',
                    help='gtests=PATH (gtests/net/tcp) or kselftest=PATH (selftests/net/packetdrill)')
    ap.add_argument('--packetdrill', help='the real packetdrill: also run every script against the kernel (root)')
    ap.add_argument('--no-ours', action='store_true', help='only the kernel')
    ap.add_argument('--jobs', type=int, default=6, help='runs at once (default 6; kernel runs mostly sleep)')
    ap.add_argument('--timeout', type=int, default=180, help='seconds a run may take (run_all.py: 180)')
    ap.add_argument('--out', default='upstream-results', help='directory for results.json and logs/ (created)')
    ap.add_argument('--previous', help="a results.json whose kernel verdicts to reuse: its passes always, its failures unless --packetdrill is given (then they run again)")
    ap.add_argument('--linux-tries', type=int, default=1, metavar='N',
                    help='run a script the kernel fails up to N times in all: timing on a loaded machine makes some fail once (default 1)')
    ap.add_argument('globs', nargs='*', help='only scripts whose path matches one of these')
    a = ap.parse_args()

    suites = []
    for spec in a.suite:
        name, _, path = spec.partition('=')
        if name not in SUITES or not path or not os.path.isdir(path):
            print(f'compare.py: --suite {spec}: expected gtests=DIR or kselftest=DIR', file=sys.stderr)
            return 2
        suites.append((name, os.path.abspath(path)))
    if a.packetdrill and not os.access(a.packetdrill, os.X_OK):
        print(f'compare.py: --packetdrill {a.packetdrill}: not an executable', file=sys.stderr)
        return 2
    previous = {}
    if a.previous:
        with open(a.previous) as f:
            previous = {(r['suite'], r['script'], r['variant']): r for r in json.load(f)}

    runs = []
    for suite, path in suites:
        for script in find_scripts(suite, path):
            if a.globs and not any(fnmatch.fnmatch(script, g) for g in a.globs):
                continue
            for variant in variants_for(suite, path, script):
                runs.append((suite, path, script, variant))

    os.makedirs(os.path.join(a.out, 'logs'), exist_ok=True)
    lock = threading.Lock()
    results = []

    def one(run):
        suite, path, script, variant = run
        args = SUITES[suite][variant]
        full = os.path.join(path, script)
        r = {'suite': suite, 'script': script, 'variant': variant}
        stem = os.path.join(a.out, 'logs', suite, variant, script)
        os.makedirs(os.path.dirname(stem), exist_ok=True)
        old = previous.get((suite, script, variant))
        # A kernel pass is reused; a kernel failure is run again when a packetdrill is given.
        if old and 'linux' in old and (old['linux'] == 'PASS' or not a.packetdrill):
            r['linux'], r['linux_error'] = old['linux'], old.get('linux_error', '')
        elif a.packetdrill:
            for attempt in range(max(1, a.linux_tries)):
                verdict, log = run_linux(a.packetdrill, full, args, a.timeout)
                if verdict == 'PASS':
                    break
            r['linux'], r['linux_error'] = verdict, ('' if verdict == 'PASS' else first_error(log))
            if verdict == 'PASS' and attempt > 0:
                r['linux_tries'] = attempt + 1
            with open(stem + '.linux.log', 'w') as f:
                f.write(log)
        if not a.no_ours:
            verdict, log = ours[(suite, variant, full)]
            r['ours'], r['ours_error'] = verdict, ('' if verdict == 'PASS' else first_error(log))
            with open(stem + '.ours.log', 'w') as f:
                f.write(log)
        with lock:
            results.append(r)
            print(f"{r.get('linux', '-'):8} {r.get('ours', '-'):8} {suite}/{script} ({variant})", file=sys.stderr)

    start = time.time()
    # Ours first, a directory and version at a time.
    ours = {}
    if not a.no_ours:
        batches = {}
        for suite, path, script, variant in runs:
            full = os.path.join(path, script)
            batches.setdefault((suite, variant, os.path.dirname(full)), []).append(os.path.basename(full))

        def batch(key):
            suite, variant, directory = key
            for name, result in run_ours(directory, batches[key], SUITES[suite][variant], a.timeout).items():
                ours[(suite, variant, os.path.join(directory, name))] = result

        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1)) as pool:
            list(pool.map(batch, batches))
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as pool:
        list(pool.map(one, runs))
    results.sort(key=lambda r: (r['suite'], r['script'], r['variant']))
    with open(os.path.join(a.out, 'results.json'), 'w') as f:
        json.dump(results, f, indent=1)

    # One row per suite and directory: runs, the kernel's passes, ours, ours among the kernel's.
    rows = {}
    for r in results:
        key = (r['suite'], os.path.dirname(r['script']) or '.') if r['suite'] == 'gtests' else (r['suite'], prefix(r['script']))
        row = rows.setdefault(key, [0, 0, 0, 0])
        row[0] += 1
        row[1] += r.get('linux') == 'PASS'
        row[2] += r.get('ours') == 'PASS'
        row[3] += r.get('linux') == 'PASS' and r.get('ours') == 'PASS'
    print('| suite | directory | runs | Linux passes | ours passes | ours of Linux\'s |')
    print('|---|---|---|---|---|---|')
    total = [0, 0, 0, 0]
    for (suite, d), row in sorted(rows.items()):
        print(f'| {suite} | {d} | {row[0]} | {row[1]} | {row[2]} | {row[3]} |')
        total = [t + x for t, x in zip(total, row)]
    print(f'| all | | {total[0]} | {total[1]} | {total[2]} | {total[3]} |')
    missing = [r for r in results if r.get('linux') == 'PASS' and r.get('ours') not in (None, 'PASS')]
    if missing:
        print(f'\n{len(missing)} runs Linux passes and we do not:')
        for r in missing:
            print(f"  {r['suite']}/{r['script']} ({r['variant']}): {r.get('ours_error', '')}")
    print(f'\n{len(runs)} runs in {time.time() - start:.0f} s; results in {a.out}/results.json', file=sys.stderr)
    return 0


# The kernel selftests' groups: their names after `tcp_`, as gtests' directories are named.
KSELFTEST_GROUPS = ['accecn', 'advmss_pmtu', 'basic', 'blocking', 'close', 'disorder', 'dsack', 'ecn', 'eor',
                    'fast_recovery', 'fastopen_server', 'inq', 'limited_transmit', 'md5', 'nagle', 'ooo', 'rcv',
                    'rto', 'sack', 'sendfile', 'slow_start', 'splice', 'syscall_bad_arg', 'tcp_info',
                    'timestamping', 'ts_recent', 'user_timeout', 'validate', 'zerocopy']


def prefix(script):
    """A kselftest script's group: tcp_fastopen_server_x.pkt → fastopen_server (else its first word)."""
    name = script[len('tcp_'):] if script.startswith('tcp_') else script
    groups = [g for g in KSELFTEST_GROUPS if name.startswith(g + '_') or name.startswith(g + '-')]
    return max(groups, key=len) if groups else name.split('_')[0]


if __name__ == '__main__':
    sys.exit(main())
