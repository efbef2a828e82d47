# ddpd — the two commands are `make run` and `make test`.
#
#   make build   Release build in build/ (binaries in build/bin/)
#   make run     install deps, build, start build/bin/ddpd on port 3000, data in ./data
#   make test    install deps, build with ASan+UBSan in build-asan/, run every test (ctest)
#   make bench   Release build, run the micro benchmarks
#   make bench-compare  side by side with nats-server, Redis and mosquitto
#                (bench/compare.sh; BENCH_SECONDS per run, default 10)
#   make fuzz    clang + libFuzzer build in build-fuzz/, run every fuzz target
#                (tests/fuzz; FUZZ_SECONDS each, default 60, or FUZZ_RUNS
#                executions each; FUZZ_TARGETS to choose)

JOBS ?= $(shell nproc)
PORT ?= 3000
DATA_DIR ?= ./data
FUZZ_SECONDS ?= 60
FUZZ_RUNS ?=
FUZZ_TARGETS ?= ddp_decode ws_frames json query sockjs rules jwt http_query

.PHONY: deps build run test test-deps bench bench-compare fuzz clean format

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build build -j $(JOBS)

run: build
	@mkdir -p $(DATA_DIR)
	build/bin/ddpd --port $(PORT) --data-dir $(DATA_DIR)

# Node packages for the interoperability tests (real DDP clients from npm).
test-deps:
	@if [ ! -d tests/js/node_modules ] || [ tests/js/package-lock.json -nt tests/js/node_modules ]; then \
	  (cd tests/js && npm ci --silent --no-audit --no-fund) && touch tests/js/node_modules; fi

# -O1 keeps the sanitized build quick to compile on 2 cores; -g1 gives ASan
# reports file:line.
test: deps test-deps
	@cmake -S . -B build-asan -DDDP_SANITIZE=ON -DDDP_BUILD_BENCH=OFF \
	  -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -g1" >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@cd build-asan && ctest --output-on-failure -j $(JOBS) --timeout 600

bench: build
	@for b in build/bin/bench_*; do echo "== $$b"; $$b; done

# The peers and their client libraries come from install-bench-deps.sh
# (not needed by CI); only the three binaries the comparison runs are built.
# -U re-runs the pkg-config checks, which CMake caches: a build folder
# configured before the libraries were installed would skip loadgen.
bench-compare: deps
	@scripts/install-bench-deps.sh
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -U '__pkg_config_checked_*' >/dev/null
	@cmake --build build -j $(JOBS) --target ddpd test_server loadgen
	@bench/compare.sh

fuzz: deps
	@CXX=clang++ cmake -S . -B build-fuzz -DDDP_FUZZ=ON -DDDP_BUILD_TESTS=OFF -DDDP_BUILD_BENCH=OFF \
	  -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -g" >/dev/null
	@cmake --build build-fuzz -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p build-fuzz/corpus/$$t build-fuzz/crashes/$$t; \
	  dict=""; case $$t in ws_frames|http_query) ;; *) dict=-dict=tests/fuzz/dicts/json.dict ;; esac; \
	  echo "fuzz: $$t for $(if $(FUZZ_RUNS),$(FUZZ_RUNS) executions,$(FUZZ_SECONDS) s)"; \
	  build-fuzz/bin/fuzz_$$t $(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS),-max_total_time=$(FUZZ_SECONDS)) \
	    -max_len=4096 $$dict \
	    -artifact_prefix=build-fuzz/crashes/$$t/ -print_final_stats=1 \
	    build-fuzz/corpus/$$t tests/fuzz/seeds/$$t >build-fuzz/$$t.log 2>&1 || \
	    { tail -40 build-fuzz/$$t.log; echo "fuzz: $$t failed; the input is in build-fuzz/crashes/$$t/"; exit 1; }; \
	  grep -E 'stat::number_of_executed_units' build-fuzz/$$t.log; \
	done

format:
	@find common protocol query storage server client tests bench -name '*.h' -o -name '*.cc' \
	  | xargs clang-format -i

clean:
	rm -rf build build-asan build-fuzz
