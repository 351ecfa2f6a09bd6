# tcpstack: `make` installs and builds everything (idempotent), `make test`
# type-checks and runs the whole suite, `make demo` shows ping answered by the
# stack in a throw-away network namespace.

NPM      ?= npm
ADDON    := tun/build/Release/tun.node
STAMP    := node_modules/.install-stamp
# Build against the headers of the node that runs us (no download: the
# machines reach no nodejs.org); node-gyp falls back to its own lookup otherwise.
NODEDIR  := $(shell node -p "require('path').resolve(process.execPath, '../..')")
GYPFLAGS := $(if $(wildcard $(NODEDIR)/include/node/node_api.h),--nodedir=$(NODEDIR))
# Debian packages the tests and the demo drive: command → package.
TOOLS    := ping:iputils-ping tcpdump:tcpdump ip:iproute2

.PHONY: all deps addon tools test typecheck demo bench clean

all: deps addon

deps: $(STAMP)

$(STAMP): package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch $@

addon: $(ADDON)

$(ADDON): $(STAMP) tun/binding.gyp tun/src/tun.c
	cd tun && ../node_modules/.bin/node-gyp rebuild --silent $(GYPFLAGS)

# Installs missing command-line tools with apt-get when running as root;
# otherwise says what is missing (the interop tests then skip, saying why).
tools:
	@missing=""; for pair in $(TOOLS); do cmd=$${pair%%:*}; pkg=$${pair#*:}; \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing tools:$$missing (interop tests will skip)"; fi; \
	fi

typecheck: deps
	./node_modules/.bin/tsc --noEmit

test: all tools typecheck
	./node_modules/.bin/ava

demo: all tools
	sh cli/demo.sh

# Our stack over the TUN vs the kernel over veth, in throw-away namespaces,
# bounded (< 5 min). BENCH_RESULTS=1 also writes bench-results.txt.
bench: all tools
	node --import tsx test/bench/run.ts

clean:
	rm -rf node_modules tun/build
