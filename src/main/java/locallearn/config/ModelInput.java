package locallearn.config;

/** The images a network takes, (channels, height, width), and the classes it tells apart: its dataset's. */
public record ModelInput(int channels, int height, int width, int classes) {
    public ModelInput {
        if (channels < 1 || height < 1 || width < 1) throw new IllegalArgumentException("model: bad input " + channels + "x" + height + "x" + width);
        if (classes < 2) throw new IllegalArgumentException("model: needs at least 2 classes, got " + classes);
    }

    /** C*H*W, the floats of one image. */
    public int imageSize() { return channels * height * width; }

    /** "CxHxW". */
    public String text() { return channels + "x" + height + "x" + width; }
}
