package dev.jllama.data.prepare;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;

/** What the job saw and removed; summed over documents with {@link #plus}. */
final class Counts implements Serializable {
    long documents;        // documents that survived dedup, before line removal and filters
    long lines;            // non-blank lines in those documents
    long linesRemoved;     // lines dropped as frequent repeats
    long emptiedByLines;   // documents with nothing left after line removal
    long tooShort;
    long tooSymbolic;
    long filtered;         // passed both, failed another clause (--where, --min-quality)
    long kept;
    long keptChars;
    long valDocs;

    Counts plus(Counts o) {
        Counts c = new Counts();
        c.documents = documents + o.documents;
        c.lines = lines + o.lines;
        c.linesRemoved = linesRemoved + o.linesRemoved;
        c.emptiedByLines = emptiedByLines + o.emptiedByLines;
        c.tooShort = tooShort + o.tooShort;
        c.tooSymbolic = tooSymbolic + o.tooSymbolic;
        c.filtered = filtered + o.filtered;
        c.kept = kept + o.kept;
        c.keptChars = keptChars + o.keptChars;
        c.valDocs = valDocs + o.valDocs;
        return c;
    }

    Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("lines", lines);
        m.put("lines_removed_as_repeats", linesRemoved);
        m.put("documents_emptied_by_line_removal", emptiedByLines);
        m.put("documents_too_short", tooShort);
        m.put("documents_too_symbolic", tooSymbolic);
        m.put("documents_removed_by_where", filtered);
        m.put("documents_kept", kept);
        m.put("characters_kept", keptChars);
        return m;
    }
}
