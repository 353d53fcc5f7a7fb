// Package tidy holds checks of the repository's own source that go vet and
// staticcheck do not make; they run as tests.
package tidy
