package dev.jllama.data.prepare;

/** UTF-8 length of a string without encoding it (unpaired surrogates count as '?', as String.getBytes writes them). */
final class Utf8Length {
    private Utf8Length() {}

    static long of(String s) {
        long n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) n += 1;
            else if (c < 0x800) n += 2;
            else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else if (Character.isSurrogate(c)) n += 1;
            else n += 3;
        }
        return n;
    }
}
