# tcpstack: `make` installs and builds everything (idempotent), `make test`
# type-checks and runs the whole suite, `make demo` shows what the stack does
# (ping, echo, RSTs with their reasons, a transfer through loss and its
# time-sequence graph) in throw-away network namespaces.

NPM      ?= npm
ADDON    := tun/build/Release/tun.node
STAMP    := node_modules/.install-stamp
# Debian packages the tests, the demo and the scenarios drive: command → package
# (a Python module is written python3-module:package, checked with Debian's
# /usr/bin/python3, which is the one its python3-* packages serve; lwip-headers
# is lwIP's headers and library, for the benchmark's lwIP peer, test/bench/c;
# chromium is the headless browser the status page's test drives; tshark reads
# the pcapng captures' comments and directions back, as Wireshark would).
TOOLS    := ping:iputils-ping tcpdump:tcpdump ip:iproute2 ss:iproute2 telnet:telnet \
            nc:netcat-openbsd curl:curl python3:python3 nft:nftables iptables:iptables ethtool:ethtool \
            python3-scapy:python3-scapy lwip-headers:liblwip-dev tshark:tshark chromium:chromium

.PHONY: all deps addon tools test typecheck deps-check demo bench fidelity clean

all: deps addon

deps: $(STAMP)

# npm ci also builds the addon: the package's install script runs
# tun/build-addon.mjs, as it does when the packed package is installed.
$(STAMP): package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch $@

addon: $(ADDON)

# Rebuilt when its sources change; after npm ci it is newer than them, so the
# install (order-only prerequisite) does not make it build a second time.
# tun/build-addon.mjs builds against the running node's own headers when they
# are installed beside it (no download: the machines reach no nodejs.org).
$(ADDON): tun/binding.gyp tun/src/tun.c tun/build-addon.mjs | $(STAMP)
	node tun/build-addon.mjs

# Installs missing command-line tools with apt-get when running as root;
# otherwise says what is missing (the interop tests then skip, saying why).
tools:
	@missing=""; for pair in $(TOOLS); do cmd=$${pair%%:*}; pkg=$${pair#*:}; \
	  case $$cmd in python3-*) /usr/bin/python3 -c "import $${cmd#python3-}" >/dev/null 2>&1 ;; \
	    lwip-headers) test -f /usr/include/lwip/lwipopts.h ;; \
	    *) command -v $$cmd >/dev/null 2>&1 ;; esac || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing tools:$$missing (interop tests will skip)"; fi; \
	fi

typecheck: deps
	./node_modules/.bin/tsc --noEmit

# The architecture (.dependency-cruiser.cjs, one commented rule per design
# decision): which directory may import which, no cycles, no Node or npm in
# stack/. Any violation fails the build.
deps-check: deps
	./node_modules/.bin/depcruise --config .dependency-cruiser.cjs --output-type err stack tun cli test

test: all tools typecheck deps-check
	./node_modules/.bin/ava

demo: all tools
	sh cli/demo.sh

# Our stack over the TUN vs lwIP over a TUN and the kernel over veth, with
# the C client (test/bench/c, built by the run), then goodput under loss
# (ours vs a kernel sender through the same impairments), in throw-away
# namespaces, bounded (< 8 min). BENCH_RESULTS=1 also writes bench-results.txt.
bench: all tools
	node --import tsx test/bench/run.ts

# The differential harness: every reset/timer scenario against the Linux
# kernel and against our stack, over IPv4 and IPv6, in throw-away namespaces;
# prints scenario | family | docs | time | match or the first difference
# (exit 1 if any differs).
fidelity: all tools
	cli/tcpstack scenario table

clean:
	rm -rf node_modules tun/build dist test/bench/c/build
