// Command ferretdb-bin runs an embedded FerretDB 1.24 (SQLite backend) for
// the chronos-db integration tests. It is a test server only: no auth, no TLS.
//
//	ferretdb-bin -listen 127.0.0.1:37017 -data /path/to/dir [-log-level warn]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:37017", "TCP address to listen on")
	data := flag.String("data", "", "directory for the SQLite files (created if missing)")
	level := flag.String("log-level", "warn", "log level: debug, info, warn, error")
	flag.Parse()

	if *data == "" {
		fmt.Fprintln(os.Stderr, "ferretdb-bin: -data is required")
		os.Exit(2)
	}
	dir, err := filepath.Abs(*data)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb-bin: %v\n", err)
		os.Exit(2)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb-bin: %v\n", err)
		os.Exit(2)
	}

	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb-bin: bad -log-level: %v\n", err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb-bin: %v\n", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	fmt.Fprintf(os.Stderr, "ferretdb-bin: listening on %s, data in %s\n", *listen, dir)
	if err := f.Run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb-bin: %v\n", err)
		os.Exit(1)
	}
}
