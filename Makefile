# rackboot's everyday commands. `make run` and `make test` are the two the
# README gives a newcomer.

GO      ?= go
BUILD   ?= build

# The Go release rackboot is built and tested with: go1.26.8, the one this
# machine's image carries, has standard-library advisories that go1.27.3
# fixes (scripts/vulncheck). The go command fetches it from the module
# proxy once (GOTOOLCHAIN, README).
export GOTOOLCHAIN := go1.27.3
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: build deb demo run test test-short vet vulncheck clean bench-api test-image

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BUILD)/rackboot ./cmd/rackboot

# The Debian package: $(BUILD)/rackboot_$(DEB_VERSION)_amd64.deb, built by
# scripts/debpkg (nfpm as a library) from packaging/deb. DEB_VERSION is the
# tag without its v, or 0~git<commit> between tags.
DEB_VERSION ?= $(shell v=$$(git describe --tags --exact-match 2>/dev/null) && echo $${v\#v} || echo 0~git$$(git rev-parse --short HEAD))

deb: build
	cd scripts/debpkg && $(GO) run . -binary ../../$(BUILD)/rackboot -version $(DEB_VERSION) \
		-out ../../$(BUILD) -src ../../packaging/deb

# The demo: `rackboot lab up` with two VMs (SeaBIOS and OVMF) netbooted,
# inspected, deployed with the test image and active, shown live.
demo:
	scripts/demo

# Runs the appliance on loopback with its data in build/data.
run: build
	$(BUILD)/rackboot serve --data-dir $(BUILD)/data --api-addr 127.0.0.1:8080 \
		--http-addr 127.0.0.1:8081 --tftp-addr 127.0.0.1:6969 --log-format text

# The whole suite, with the real peers it tests against installed first.
# One package at a time (-p 1): the VM packages each keep the machine's
# cores busy with TCG guests, and two side by side only slow each other
# past the deadlines their tests give a boot.
test:
	scripts/ci-deps
	$(GO) vet ./...
	GO=$(GO) scripts/vulncheck
	$(GO) test -p 1 -count=1 -timeout 80m ./...

# Quick iteration: no package installs, no VM tests.
test-short:
	$(GO) test -short ./...

vet:
	$(GO) vet ./...

# govulncheck against a local copy of Go's vulnerability database.
vulncheck:
	GO=$(GO) scripts/vulncheck

bench-api: build
	scripts/bench-api

# The test OS image for deploys, from Debian's packages: $(BUILD)/test-image.raw(.gz).
test-image:
	BUILD=$(BUILD) GO=$(GO) scripts/test-image

clean:
	rm -rf $(BUILD)
