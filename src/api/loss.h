/* Losses return per-example values [N]; reduce them with dob_mean/dob_sum. */
/* softmax cross-entropy: logits [N,C], labels I64 [N] (class indices) or F32
   [N,C] (probabilities / one-hot). label_smoothing s turns the target y into
   y (1 - s) + s / C. */
dob_tensor *dob_softmax_cross_entropy(dob_tensor *logits, const dob_tensor *labels,
                                      double label_smoothing);
/* sigmoid binary cross-entropy with logits, summed over all non-batch dims:
   x, targets [N, ...] -> [N] */
dob_tensor *dob_sigmoid_cross_entropy(dob_tensor *logits, dob_tensor *targets);
/* squared error summed over all non-batch dims: [N, ...] -> [N] */
dob_tensor *dob_squared_error(dob_tensor *pred, dob_tensor *target);
/* accuracy helper: fraction of rows whose argmax equals the label (I64 [N]
   or one-hot F32 [N,C]) */
double dob_accuracy(const dob_tensor *logits, const dob_tensor *labels);
