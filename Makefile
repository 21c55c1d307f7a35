# hilchaos: the README's two commands are `make pathfinder` and `make test`.
GO ?= go

.PHONY: pathfinder test setup bench bench-user fuzz build firmware

build:
	$(GO) build -o bin/hilchaos ./cmd/hilchaos

# The main job: the Pathfinder campaign on the built-in simulated board.
pathfinder:
	$(GO) run ./cmd/hilchaos run campaigns/pathfinder.yaml

setup:
	.ci/setup

# The C reference firmware for QEMU's mps2-an385 (needs gcc-arm-none-eabi,
# installed by .ci/setup): firmware/mps2-an385/build/pathfinder-*.elf.
firmware:
	$(MAKE) -C firmware/mps2-an385

# Everything CI runs: install the test components, vet, then every test.
# One package at a time (-p 1), and one test at a time (-parallel 1): the
# real-time tests (PTY boards, ser2net, QEMU, each with its own processes)
# starve each other on a 2-core machine, and a starved board looks like a
# slow or broken one: false hangs and lost frames.
test: setup
	$(GO) vet ./...
	$(GO) test -count=1 -p 1 -parallel 1 -timeout 15m ./...

# Benchmarks quoted in the issue notes (medians over 5 runs on a noisy box).
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./targets/wire/ ./firmware/
	$(GO) test -run '^$$' -bench 'SimPathfinder|SimMemory' -benchtime 3x -count 5 ./harness/
	$(GO) test -run '^$$' -bench ResetDetectionPTY -benchtime 300x -count 5 ./harness/drive/
	$(GO) test -run '^$$' -bench IngestPTY -benchtime 1x -count 9 ./harness/drive/
	$(GO) test -run '^$$' -bench IngestMemory -benchtime 5x -count 6 ./harness/drive/
	$(GO) test -run '^$$' -bench Analyze -count 5 ./harness/analyze/
	$(GO) test -run '^$$' -bench PTYIngest -benchtime 2000000x -count 5 ./targets/serial/
	$(GO) test -run '^$$' -bench QEMUPathfinder -benchtime 2x -count 3 ./targets/qemu/
	$(GO) test -run '^$$' -bench OvernightSoak -benchtime 1x -count 5 ./harness/
	$(GO) test -run '^$$' -bench Writer -benchtime 3x -count 5 ./harness/tracelog/
	$(GO) test -run '^$$' -bench Controller32PTYBoards -benchtime 1x -count 3 ./cmd/hilchaos/

# The serial ingest benchmark as an unprivileged user (uid 65534), whom
# the kernel refuses a second descriptor on an exclusive tty: run as root,
# it switches with setpriv; compare with the same benchmark in `make bench`.
bench-user:
	d=$$(mktemp -d) && chmod 755 $$d && $(GO) test -c -o $$d/serial.test ./targets/serial/ && \
	cd $$d && setpriv --reuid=65534 --regid=65534 --clear-groups ./serial.test \
		-test.run '^$$' -test.bench PTYIngest -test.benchtime 2000000x -test.count 5; \
	status=$$?; rm -rf $$d; exit $$status

# A short pass of every fuzz target.
fuzz:
	for pkg in ./targets/wire/ ./firmware/ ./firmware/agent/gotest/ ./faults/ ./harness/ ./harness/record/ ./harness/tracelog/ ./harness/conform/ ./harness/farm/; do \
		for t in $$($(GO) test -list 'Fuzz.*' $$pkg | grep ^Fuzz); do \
			$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime 20s $$pkg || exit 1; done; done
