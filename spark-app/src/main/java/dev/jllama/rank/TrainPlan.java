package dev.jllama.rank;

import dev.jllama.model.LlamaConfig;
import dev.jllama.model.Lora;
import dev.jllama.model.backend.Precision;
import dev.jllama.model.train.TrainOptions;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.time.Duration;
import org.apache.spark.util.SerializableConfiguration;

/**
 * Everything a rank needs to train, made by the driver and shipped to every barrier task. Paths are fully
 * qualified URIs, because executors run in other working directories.
 *
 * @param data            dataset or mixture spec as {@code --data} takes it, directories qualified; for a fine-tuning
 *                        run ({@code init} set), the instruction windows file ({@code InstructionWindows})
 * @param init            fine-tuning: the checkpoint whose weights and tokenizer the run starts from; null for
 *                        pretraining
 * @param lora            fine-tuning with LoRA adapters: their spec as JSON ({@code Lora.Spec#toJson}); null trains
 *                        every parameter
 * @param checkpoints     checkpoint root ({@code <out>/checkpoints})
 * @param config          model configuration as JSON ({@link LlamaConfig#toJson()})
 * @param options         training options as JSON ({@link TrainOptions#toJson()}), per rank
 * @param backend         backend name: auto, cpu or tornado
 * @param device          device index for a GPU backend when the task has no GPU resource; -1 for the default
 * @param threads         CPU threads per rank; 0 for the task's CPU count
 * @param precision       of the backend's matrix products: fp32 or bf16 ({@link Precision#label})
 * @param zero            shard AdamW's moments across ranks (ZeRO-1)
 * @param secret          per-job secret that peers prove to each other; never logged, never checkpointed
 * @param progress        {@code host:port} of the driver's progress listener, or null
 * @param collectiveTimeout how long a rank waits for a silent peer before failing the stage
 * @param checkEvery      steps between cross-rank parameter checksums (0: never)
 * @param logEvery        steps between progress lines
 * @param evalBatches     validation micro-batches evaluated by rank 0 at the end
 */
public record TrainPlan(String data, String init, String lora, String checkpoints, String config, String options, String backend, int device,
                        int threads, String precision, boolean resume, boolean zero, byte[] secret, String progress,
                        Duration collectiveTimeout, int checkEvery, int logEvery, int evalBatches,
                        SerializableConfiguration hadoop) implements Serializable {

    /** This plan with what only the driver of the job knows: its secret, its progress listener, its Hadoop settings. */
    public TrainPlan forJob(byte[] jobSecret, String progressAddress, SerializableConfiguration hadoopConf) {
        return new TrainPlan(data, init, lora, checkpoints, config, options, backend, device, threads, precision, resume, zero,
                jobSecret, progressAddress, collectiveTimeout, checkEvery, logEvery, evalBatches, hadoopConf);
    }

    /** This plan on another backend. */
    public TrainPlan withBackend(String name) {
        return new TrainPlan(data, init, lora, checkpoints, config, options, name, device, threads, precision, resume, zero,
                secret, progress, collectiveTimeout, checkEvery, logEvery, evalBatches, hadoop);
    }

    /** This plan resuming from the newest intact checkpoint, as a retried attempt does. */
    public TrainPlan withResume() {
        return new TrainPlan(data, init, lora, checkpoints, config, options, backend, device, threads, precision, true, zero,
                secret, progress, collectiveTimeout, checkEvery, logEvery, evalBatches, hadoop);
    }

    /** Whether this is a fine-tuning run: instruction windows with a loss mask, weights from {@link #init}. */
    public boolean finetune() {
        return init != null;
    }

    /** The LoRA adapters' spec, or null. */
    public Lora.Spec loraSpec() {
        return lora == null ? null : Lora.Spec.fromJson(parse(lora));
    }

    public Precision matmulPrecision() {
        return Precision.parse(precision);
    }

    public LlamaConfig modelConfig() {
        return LlamaConfig.fromJson(parse(config));
    }

    public TrainOptions trainOptions() {
        return TrainOptions.fromJson(parse(options));
    }

    private static JsonNode parse(String json) {
        try {
            return new ObjectMapper().readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Without the secret: a plan may end up in logs or exception messages. */
    @Override
    public String toString() {
        return "TrainPlan[data=" + data + (init == null ? "" : ", init=" + init) + ", checkpoints=" + checkpoints + ", backend=" + backend
                + ", precision=" + precision + ", zero=" + zero + "]";
    }
}
