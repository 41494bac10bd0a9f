package dev.jllama.rank;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import org.apache.spark.serializer.KryoRegistrator;

/**
 * The classes that cross between the driver and the barrier tasks as data, for Spark's Kryo serializer (named in
 * {@code spark.kryo.registrator}; the tests run with {@code spark.kryo.registrationRequired=true}). The stage takes
 * the ranks' ids, which Spark's own registrations cover, and returns one {@link RankResult} per rank, collected as
 * an array. The plan travels inside the task's function, which Spark serialises with Java serialisation.
 */
public final class KryoRegistration implements KryoRegistrator {

    @Override
    public void registerClasses(Kryo kryo) {
        // A record with JDK immutable lists and maps: Kryo's field serializer can set neither a record's final
        // fields nor build those collections, so it goes through the record's own (Java) serialisation, once per rank.
        kryo.register(RankResult.class, new JavaSerializer());
        kryo.register(RankResult[].class);
    }
}
