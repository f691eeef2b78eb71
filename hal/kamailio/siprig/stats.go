package siprig

import (
	"slices"
	"testing"
	"time"
)

// ReportPercentiles sorts lat in place and reports its p50, p99 and
// maximum in milliseconds (b.ReportMetric units p50-ms, p99-ms, max-ms),
// and the sample count (samples). It reports nothing for no samples.
func ReportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(Percentile(lat, 0.50), "p50-ms")
	b.ReportMetric(Percentile(lat, 0.99), "p99-ms")
	b.ReportMetric(Percentile(lat, 1.0), "max-ms")
	b.ReportMetric(float64(len(lat)), "samples")
}

// Percentile returns the p-quantile (0 ≤ p ≤ 1, nearest rank below) of
// sorted in milliseconds. sorted must be sorted and not empty.
func Percentile(sorted []time.Duration, p float64) float64 {
	i := int(p * float64(len(sorted)-1))
	return float64(sorted[i].Microseconds()) / 1000
}
