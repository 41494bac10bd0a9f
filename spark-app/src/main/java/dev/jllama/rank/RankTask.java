package dev.jllama.rank;

import java.io.Serializable;
import scala.collection.Iterator;
import scala.package$;
import scala.runtime.AbstractFunction1;

/** The function of the one barrier stage: each partition is one rank, and returns that rank's result. */
public final class RankTask extends AbstractFunction1<Iterator<Integer>, Iterator<RankResult>> implements Serializable {
    private final TrainPlan plan;

    public RankTask(TrainPlan plan) {
        this.plan = plan;
    }

    @Override
    public Iterator<RankResult> apply(Iterator<Integer> partition) {
        BarrierEnvironment env = new BarrierEnvironment();
        try {
            return package$.MODULE$.Iterator().single(RankTraining.run(plan, env));
        } catch (Exception e) {
            throw new RankFailedException(env, unhidden(e));
        }
    }

    /**
     * The failure itself where try-with-resources hid it: a stream whose close() throws the exception its write
     * threw (HDFS's output stream does, e.g. when the DataNodes are unreachable) makes Java add the exception to
     * itself as suppressed, which fails with "Self-suppression not permitted" and carries the real one as cause.
     */
    static Exception unhidden(Exception e) {
        Exception real = e;
        while (real instanceof IllegalArgumentException iae && "Self-suppression not permitted".equals(iae.getMessage())
                && iae.getCause() instanceof Exception cause) {
            real = cause;
        }
        return real;
    }

    /** A failure of a rank, named by rank and host, carried through Spark's task failure to the driver. */
    static final class RankFailedException extends RuntimeException {
        RankFailedException(RankEnvironment env, Exception cause) {
            super("rank " + env.rank() + " of " + env.worldSize() + " on " + env.host() + ": " + cause, cause);
        }
    }
}
