package testkit

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres returns a connection pool to the database named by DATABASE_URL,
// closed when t ends. Without DATABASE_URL the test is skipped: Postgres has
// no embedded stand-in.
func Postgres(t testing.TB) *pgxpool.Pool {
	t.Helper()
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		t.Skip("testkit: DATABASE_URL is not set; this test needs a real PostgreSQL (make services starts one)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatalf("testkit: DATABASE_URL: %v", err)
	}
	t.Cleanup(pool.Close)
	if err := pool.Ping(ctx); err != nil {
		t.Fatalf("testkit: postgres: %v", err)
	}
	return pool
}
