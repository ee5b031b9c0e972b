package devicedb

//go:generate go run ./internal/gen -bots -out .
//go:generate go run ./internal/gen -out .
