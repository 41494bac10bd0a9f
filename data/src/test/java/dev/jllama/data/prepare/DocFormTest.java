package dev.jllama.data.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import org.junit.jupiter.api.Test;

/** A document comes back from Java serialisation (its {@link Doc.Form}) equal to what went in. */
class DocFormTest {

    @Test
    void roundTripsEveryField() throws Exception {
        Doc plain = Doc.of(new Document("web", "a.jsonl:7", "héllo wörld 😀 — text"));
        assertEquals(plain, roundTrip(plain));
        Doc tagged = plain.removedBy("near_dedup").groups(plain.key(), "0123456789abcdef").withTokens(123_456);
        assertEquals(tagged, roundTrip(tagged));
    }

    @Test
    void roundTripsLongStringsAndUnpairedSurrogatesOutsideTheText() throws Exception {
        String longText = "ü".repeat(70_000) + "😀".repeat(30_000); // past writeUTF's 65,535 bytes
        String longLocation = "\uD800" + "€".repeat(30_000) + "\uDFFF"; // unpaired surrogates, over 65,535 bytes
        Doc d = new Doc("00ff", 0.25, "books", longLocation, longText);
        assertEquals(d, roundTrip(d));
    }

    @Test
    void aDocumentHeldAsBytesMeasuresAndComparesAsItsText() {
        for (String text : java.util.List.of("", "ascii only", "héllo wörld", "😀 pairs 𝐁 and ü € 中", "x".repeat(5000) + "😀")) {
            Doc asText = Doc.of(new Document("web", "a", text));
            Doc asBytes = Doc.fromUtf8(asText.key(), asText.draw(), "web", "a",
                    text.getBytes(java.nio.charset.StandardCharsets.UTF_8), null, null, null, asText.tokens());
            assertEquals(text.length(), asBytes.chars(), text);
            assertEquals(asText.bytes(), asBytes.bytes(), text);
            assertEquals(asText, asBytes, text);
            assertEquals(asText.hashCode(), asBytes.hashCode(), text);
            assertEquals(text, asBytes.text(), text);
            assertEquals(text.length(), asBytes.chars(), "after decoding: " + text);
        }
    }

    private static Doc roundTrip(Doc d) throws IOException, ClassNotFoundException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(d);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            return (Doc) in.readObject();
        }
    }
}
