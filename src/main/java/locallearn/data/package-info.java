/**
 * Datasets as the paper used them, read from the files their authors distribute, into plain Java
 * arrays: no tensors, no devices. {@link locallearn.data.Datasets} names the seven datasets, holds
 * their facts ({@link locallearn.data.DatasetSpec}: geometry, normalisation, augmentation) and finds
 * and loads them; {@link locallearn.data.Sampler} orders each epoch (seeded shuffling, or the
 * classes-per-batch order of the reference).
 *
 * <p>Readers, one small file each: {@code Idx} (MNIST, Fashion-MNIST, KMNIST), {@code Cifar},
 * {@code Stl10}, {@code Svhn} over {@code MatV5}; {@code Source} hands them file contents from a
 * folder, a .tar.gz ({@code TarGz}) or the jar. Every size a file states is checked against what
 * the file really holds before it sizes anything, and every problem is a
 * {@link locallearn.data.DataException} whose one-line message names the file.
 */
package locallearn.data;
