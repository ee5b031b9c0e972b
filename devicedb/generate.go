package devicedb

//go:generate go run ./internal/gen -bots -shared ../../shared/testdata -out .
//go:generate go run ./internal/gen -shared ../../shared/testdata -out .
