# Thin wrapper over the CMake presets. `make test` is what README.md tells a new user.
PRESET ?= default
JOBS ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: all build test asan setup demo clean
all: build

build:
	cmake --preset $(PRESET) $(CMAKE_ARGS)
	cmake --build --preset $(PRESET) -j $(JOBS)

test: build
	ctest --preset $(PRESET) -j $(JOBS)

asan:
	$(MAKE) test PRESET=asan

setup:
	./scripts/setup.sh

demo:
	./scripts/demo.sh

clean:
	rm -rf build
