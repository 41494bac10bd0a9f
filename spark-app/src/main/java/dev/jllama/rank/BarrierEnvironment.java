package dev.jllama.rank;

import java.util.Arrays;
import java.util.List;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.resource.ResourceInformation;

/** A rank inside a Spark barrier task: partition id is the rank, the task's resources are its GPU and cores. */
final class BarrierEnvironment implements RankEnvironment {
    private final BarrierTaskContext context = BarrierTaskContext.get();

    @Override
    public int rank() {
        return context.partitionId();
    }

    @Override
    public int worldSize() {
        return context.getTaskInfos().length;
    }

    @Override
    public String host() {
        return context.getTaskInfos()[context.partitionId()].address().replaceFirst(":\\d+$", "");
    }

    @Override
    public List<String> gpus() {
        ResourceInformation gpu = context.resourcesJMap().get("gpu");
        return gpu == null ? List.of() : List.of(gpu.addresses());
    }

    @Override
    public int cpus() {
        return context.cpus();
    }

    @Override
    public List<String> allGather(String message) {
        return Arrays.asList(context.allGather(message));
    }
}
