package pgscope

import "testing"

func BenchmarkAnalyze(b *testing.B) {
	for _, bc := range []struct{ name, sql string }{
		{"point", "SELECT id, total FROM orders WHERE id = $1"},
		{"join-agg", "SELECT c.country, count(*), sum(o.total) AS revenue FROM orders o JOIN customers c ON c.id = o.customer_id " +
			"WHERE o.created_at >= now() - interval '30 days' GROUP BY c.country HAVING count(*) > 1 ORDER BY revenue DESC LIMIT 10"},
		{"3-cte", "WITH monthly AS (SELECT date_trunc('month', created_at) AS m, customer_id, sum(total) AS s FROM orders GROUP BY 1, 2), " +
			"ranked AS (SELECT m, customer_id, s, rank() OVER (PARTITION BY m ORDER BY s DESC) AS r FROM monthly), " +
			"top AS (SELECT r.m, c.country, r.s FROM ranked r JOIN customers c ON c.id = r.customer_id WHERE r.r <= 3) " +
			"SELECT m, country, sum(s) FROM top GROUP BY m, country ORDER BY m, 3 DESC"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			schema := fixture()
			if _, err := New().Analyze(bc.sql, schema); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := New().Analyze(bc.sql, schema); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
