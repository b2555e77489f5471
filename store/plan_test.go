package store

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestQueriesUseIndexes keeps the cost of an action independent of the history: no statement
// of the store may scan the tables that grow with it. (Tables that hold one row per app,
// environment or lock may be read whole by the queries that want them whole; the outbox is
// read through its indexes, as a backlog can grow large.)
func TestQueriesUseIndexes(t *testing.T) {
	db := openTemp(t)
	growing := regexp.MustCompile(`\bSCAN (releases|release_manifests|deployment_history|requests|outbox_builds|outbox)\b`)
	numbered := regexp.MustCompile(`\?(\d+)`)
	// The outbox is read through its partial indexes: their size is the backlog.
	outboxByIndex := regexp.MustCompile(`SCAN outbox USING (COVERING )?INDEX outbox_(pending|failed)`)
	for _, q := range queries {
		n := strings.Count(q, "?")
		if ms := numbered.FindAllStringSubmatch(q, -1); ms != nil {
			n = 0
			for _, m := range ms {
				if i, _ := strconv.Atoi(m[1]); i > n {
					n = i
				}
			}
		}
		vals := make([]any, n)
		for i := range vals {
			vals[i] = "[]"
		}
		rows, err := db.write.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q, vals...)
		if err != nil {
			t.Errorf("explain %s: %v", q, err)
			continue
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if p := strings.Join(plan, "; "); growing.MatchString(outboxByIndex.ReplaceAllString(p, "")) {
			t.Errorf("%s\nscans a table that grows with the history: %s", strings.Join(strings.Fields(q), " "), p)
		}
	}
	if len(queries) < 40 {
		t.Errorf("only %d queries registered", len(queries))
	}
}
