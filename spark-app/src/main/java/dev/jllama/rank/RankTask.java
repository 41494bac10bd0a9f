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
            throw new RankFailedException(env, e);
        }
    }

    /** A failure of a rank, named by rank and host, carried through Spark's task failure to the driver. */
    static final class RankFailedException extends RuntimeException {
        RankFailedException(RankEnvironment env, Exception cause) {
            super("rank " + env.rank() + " of " + env.worldSize() + " on " + env.host() + ": " + cause, cause);
        }
    }
}
