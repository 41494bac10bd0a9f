package dev.jllama.data.prepare;

import java.io.Serializable;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;

/**
 * Everything the job counts after the filters, in one pass over the judged documents: the filter counts, per
 * source the documents, bytes and tokens left after line removal and kept by the filters, and what the validation cut
 * needs (kept documents drawn below the val fraction, the smallest draw of a kept document).
 */
final class FilterTally implements Serializable {
    private Counts counts = new Counts();
    private final Map<String, long[]> notEmptied = new TreeMap<>();
    private final Map<String, long[]> kept = new TreeMap<>();
    private long keptBelowFraction;
    private double smallestKeptDraw = Double.POSITIVE_INFINITY;

    static FilterTally of(Iterator<Judged> judged, double valFraction) {
        FilterTally t = new FilterTally();
        while (judged.hasNext()) {
            Judged j = judged.next();
            t.counts = t.counts.plus(j.counts());
            if (j.emptied()) continue;
            long[] one = SourceCounts.one(j.doc(), j.doc().bytes());
            t.notEmptied.merge(j.doc().source(), one, SourceCounts::sum);
            if (!j.kept()) continue;
            t.kept.merge(j.doc().source(), one, SourceCounts::sum);
            double draw = j.doc().draw();
            if (draw < valFraction) t.keptBelowFraction++;
            t.smallestKeptDraw = Math.min(t.smallestKeptDraw, draw);
        }
        return t;
    }

    FilterTally plus(FilterTally o) {
        FilterTally s = new FilterTally();
        s.counts = counts.plus(o.counts);
        for (FilterTally t : new FilterTally[] {this, o}) {
            t.notEmptied.forEach((k, v) -> s.notEmptied.merge(k, v, SourceCounts::sum));
            t.kept.forEach((k, v) -> s.kept.merge(k, v, SourceCounts::sum));
        }
        s.keptBelowFraction = keptBelowFraction + o.keptBelowFraction;
        s.smallestKeptDraw = Math.min(smallestKeptDraw, o.smallestKeptDraw);
        return s;
    }

    Counts counts() {
        return counts;
    }

    /** Per source: documents, bytes and tokens with something left after frequent-line removal. */
    Map<String, long[]> notEmptied() {
        return notEmptied;
    }

    /** Per source: documents, bytes and tokens kept by the filters. */
    Map<String, long[]> kept() {
        return kept;
    }

    /**
     * Documents whose hash draw is below the returned cut go to validation. Normally the cut is the val fraction;
     * if that selects nothing from a small corpus, the cut moves just past the smallest draw so that the validation
     * split holds one document (still a function of the content alone).
     */
    double valCut(double valFraction) {
        if (valFraction <= 0 || counts.kept < 2) return 0;
        return keptBelowFraction > 0 ? valFraction : Math.nextUp(smallestKeptDraw);
    }
}
