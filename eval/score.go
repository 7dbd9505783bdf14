package eval

import "slices"

// Scores compares a predicted partition with the truth. All metrics are
// computed on the items the two partitions share; Missing and Extra count the
// others.
//
// The pairwise metrics look at pairs of items: a pair is predicted when both
// are in one predicted cluster and true when both are in one true cluster.
// PairPrecision is the share of predicted pairs that are true (1 when nothing
// is paired: no pair is wrong), PairRecall the share of true pairs that are
// predicted (1 when the truth pairs nothing). Pairs weigh large clusters
// quadratically, so a giant component ruins PairPrecision.
//
// ARI is the adjusted Rand index (Hubert and Arabie, 1985): the Rand index
// corrected for chance, 1 for identical partitions, about 0 for a random
// one, negative when worse than chance.
//
// The B-cubed metrics (Bagga and Baldwin, 1998) look at items: an item's
// precision is the share of its predicted cluster that is in its true cluster,
// its recall the share of its true cluster that is in its predicted cluster;
// both are averaged over items and BCubedF1 is their harmonic mean. They weigh
// every alert alike, where the pairwise metrics weigh the large incidents.
//
// With no shared items every metric is 0.
type Scores struct {
	Items                      int // items in both partitions
	TrueClusters, PredClusters int // clusters among those items

	PairPrecision, PairRecall, PairF1 float64
	ARI                               float64

	BCubedPrecision, BCubedRecall, BCubedF1 float64

	LargestTrue, LargestPred int     // size of the largest true and predicted cluster
	Compression              float64 // Items / PredClusters: alerts per predicted incident

	Missing int // items of the truth that the prediction lacks
	Extra   int // items of the prediction that the truth lacks
}

// Score compares pred with truth. It runs in O(n log n) time for n items
// and never enumerates pairs: every pair count comes from the contingency
// table of (true cluster, predicted cluster) cells, as a sum of C(size, 2).
// It does not modify its arguments and is safe for concurrent use.
func Score(truth, pred Partition) Scores {
	var s Scores
	tl := newInterner(len(truth) / 2)
	pl := newInterner(len(truth) / 2)
	// Each shared item becomes one cell key: its true label's number in the
	// high half, its predicted label's in the low half. Sorting the keys puts
	// the items of one cell next to each other.
	cells := make([]uint64, 0, min(len(truth), len(pred)))
	var trueSize, predSize []int
	for id, t := range truth {
		p, ok := pred[id]
		if !ok {
			s.Missing++
			continue
		}
		ti, pi := tl.id(t), pl.id(p)
		if int(ti) == len(trueSize) {
			trueSize = append(trueSize, 0)
		}
		if int(pi) == len(predSize) {
			predSize = append(predSize, 0)
		}
		trueSize[ti]++
		predSize[pi]++
		cells = append(cells, uint64(ti)<<32|uint64(pi))
	}
	s.Items = len(cells)
	s.Extra = len(pred) - s.Items
	s.TrueClusters, s.PredClusters = len(trueSize), len(predSize)
	if s.Items == 0 {
		return s
	}
	slices.Sort(cells)

	// both: pairs together in both partitions; truePairs, predPairs: pairs
	// together in one.
	var both, truePairs, predPairs int64
	var bcP, bcR float64 // sums over items of their B-cubed precision and recall
	for i := 0; i < len(cells); {
		j := i + 1
		for j < len(cells) && cells[j] == cells[i] {
			j++
		}
		n := j - i
		ti, pi := cells[i]>>32, cells[i]&(1<<32-1)
		both += choose2(n)
		// The n items of this cell each have precision n/|pred| and recall
		// n/|true|.
		nn := float64(n) * float64(n)
		bcP += nn / float64(predSize[pi])
		bcR += nn / float64(trueSize[ti])
		i = j
	}
	for _, n := range trueSize {
		truePairs += choose2(n)
		s.LargestTrue = max(s.LargestTrue, n)
	}
	for _, n := range predSize {
		predPairs += choose2(n)
		s.LargestPred = max(s.LargestPred, n)
	}

	s.PairPrecision = ratioOr1(both, predPairs)
	s.PairRecall = ratioOr1(both, truePairs)
	s.PairF1 = harmonic(s.PairPrecision, s.PairRecall)
	s.ARI = ari(both, truePairs, predPairs, choose2(s.Items))
	s.BCubedPrecision = bcP / float64(s.Items)
	s.BCubedRecall = bcR / float64(s.Items)
	s.BCubedF1 = harmonic(s.BCubedPrecision, s.BCubedRecall)
	s.Compression = float64(s.Items) / float64(s.PredClusters)
	return s
}

// ari is the Hubert–Arabie adjusted Rand index from the pair counts: index
// pairs together in both partitions, a and b pairs together in each, n all
// pairs. Its denominator is 0 only when a = b and both are 0 or n, that is
// when both partitions are all singletons or both one cluster: identical, so
// 1.
func ari(index, a, b, n int64) float64 {
	if n == 0 {
		return 1 // fewer than two items: nothing to disagree on
	}
	expected := float64(a) * float64(b) / float64(n)
	maxIndex := (float64(a) + float64(b)) / 2
	if maxIndex == expected {
		return 1
	}
	return (float64(index) - expected) / (maxIndex - expected)
}

func choose2(n int) int64 { return int64(n) * int64(n-1) / 2 }

// ratioOr1 returns num/den, or 1 when den is 0: with nothing claimed, nothing
// is wrong.
func ratioOr1(num, den int64) float64 {
	if den == 0 {
		return 1
	}
	return float64(num) / float64(den)
}

func harmonic(p, r float64) float64 {
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// interner numbers distinct strings from 0 in order of first sight.
type interner map[string]uint32

func newInterner(hint int) interner { return make(interner, hint) }

func (m interner) id(s string) uint32 {
	if i, ok := m[s]; ok {
		return i
	}
	i := uint32(len(m))
	m[s] = i
	return i
}
