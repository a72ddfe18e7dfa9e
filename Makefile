# crmhook: `make demo` to see it work, `make test` to prove it. See README.md.
SHELL := /bin/bash
CARGO ?= cargo
PHP ?= php
PHPUNIT ?= /usr/bin/phpunit
CARGO_PHP := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin/cargo-php

SO := $(CURDIR)/target/release/libcrmhook.so
SO_DEBUG := $(CURDIR)/target/debug/libcrmhook.so
PHP_EXT := $(PHP) -d extension=$(SO)

.PHONY: all deps build lint test test-rust test-php test-stubs test-site demo down stubs screenshots bench bench-site fuzz clean

all: build

deps:
	@scripts/deps.sh

build: deps
	$(CARGO) build --release

## test: every suite. Rust first (logic), then PHP against the freshly built extension, then the
## real site: the plugin's PHPUnit tests, HTTP end to end through nginx + php-fpm, the browser.
test: deps build lint test-rust test-php test-stubs test-site

## lint: Rust formatted (rustfmt.toml) and clippy-clean with warnings as errors; every PHP file
## parses and passes phpcs (phpcs.xml.dist); the translation template holds every string.
lint: deps
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets --quiet -- -D warnings
	@git ls-files -z '*.php' | xargs -0 -n1 -P2 $(PHP) -l >/dev/null
	@echo "php -l: every PHP file parses"
	phpcs -q
	@scripts/make-pot.sh --check

test-rust:
	$(CARGO) test --release

test-php: build
	$(PHP_EXT) $(PHPUNIT) --configuration tests/php/phpunit.xml

test-site: build
	scripts/test-site.sh

# The checked-in stubs must be exactly what the current code generates.
test-stubs: deps
	$(CARGO) build
	@scripts/stubs.sh $(SO_DEBUG) > target/crmhook.stubs.php
	@diff -u php-stubs/crmhook.stubs.php target/crmhook.stubs.php \
		&& echo "stubs: php-stubs/crmhook.stubs.php matches the extension" \
		|| { echo "stubs are stale: run 'make stubs' and commit php-stubs/"; exit 1; }

## screenshots: the browser test against a fresh site (database reset), writing its screenshots to docs/ (tests
## never change tracked files; this is the one command that does, on purpose).
screenshots: build
	SCREENSHOTS_DIR=$(CURDIR)/docs BROWSER_ONLY=1 SITE_RESET=1 scripts/test-site.sh

stubs: deps
	$(CARGO) build
	scripts/stubs.sh $(SO_DEBUG) > php-stubs/crmhook.stubs.php

## demo: a real WordPress with the plugin, the CRM emulator, one webhook per action and CRM.
demo: build
	scripts/demo.sh

## down: stops exactly what demo (or the end-to-end tests) started, by pid.
down:
	-tests/emulator/emulator.sh stop
	scripts/site/down.sh

## bench: parse + map against plain PHP, then parse alone against the least plain PHP can do.
## BENCH_FLAGS="-d opcache.jit=tracing -d opcache.jit_buffer_size=64M" runs both under the JIT.
BENCH_FLAGS ?=
bench: build
	$(PHP_EXT) -d opcache.enable_cli=1 $(BENCH_FLAGS) bench/webhooks.php
	$(PHP_EXT) -d opcache.enable_cli=1 $(BENCH_FLAGS) bench/parse.php

## bench-site: wrk through nginx + php-fpm, the contact lookup at 1,000 vs 100,000 users, and the
## burst (1,000 contacts x 2 webhooks, 200 at once, a rate-limited CRM): queue vs sync.
bench-site: build
	bench/site.sh
	bench/burst.sh

## fuzz: not part of `make test`. FUZZ_SECONDS=600 make fuzz. Needs `cargo install cargo-fuzz`;
## RUSTC_BOOTSTRAP lets the stable toolchain take the sanitizer flags. The grown corpus stays in
## fuzz/corpus/ (ignored); fuzz/seeds/ holds the checked-in seeds, fuzz/regressions/ the crashes found.
FUZZ_SECONDS ?= 60
fuzz:
	mkdir -p fuzz/corpus/parse_webhook
	cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run parse_webhook corpus/parse_webhook seeds/parse_webhook regressions -- -max_total_time=$(FUZZ_SECONDS)

clean:
	$(CARGO) clean
