package dev.jllama.data.prepare;

import java.util.Iterator;
import java.util.NoSuchElementException;

/** An iterator over what a reader yields one call at a time, so a task never holds a whole file's documents. */
abstract class PullIterator<T> implements Iterator<T> {
    private T next;
    private boolean done;

    /** The next item, or null when this call yields none (a skipped record; at the end after {@link #end}). */
    protected abstract T pull();

    /** Called by {@link #pull} when the input is exhausted. */
    protected final void end() {
        done = true;
    }

    @Override
    public final boolean hasNext() {
        while (next == null && !done) next = pull();
        return next != null;
    }

    @Override
    public final T next() {
        if (!hasNext()) throw new NoSuchElementException();
        T t = next;
        next = null;
        return t;
    }
}
