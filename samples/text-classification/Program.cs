// Text classification on the SpamAssassin public mail corpus shipped in the repository (6,046 messages, the fixed
// stratified split: 4,837 to train on, 1,209 to test on): a TextVectorization layer adapted on the training mail
// (tf-idf of words and word pairs, a 20,000-token vocabulary) → Dropout → Dense(2, softmax). Trained 2 epochs;
// the model takes raw strings, saved and loaded alike.
//
//   dotnet run -- [DATA]      DATA: the folder holding spam-assassin/ (default ../../data, the repository's)
using Strata.Data;
using Strata.Layers;
using Strata.Losses;
using Strata.Models;
using Strata.Optimizers;

string folder = Path.Combine(args.Length > 0 ? args[0] : Path.Combine("..", "..", "data"), "spam-assassin");
if (!Directory.Exists(folder))
{
    Console.Error.WriteLine($"text-classification: no spam-assassin folder at {Path.GetFullPath(folder)}; pass the folder that holds spam-assassin/");
    return 1;
}

var (train, test) = SpamAssassin.LoadSplit(folder);
Console.WriteLine($"{train.Count:N0} training and {test.Count:N0} test messages ({string.Join(", ", SpamAssassin.ClassNames)})");

var vectorizer = new TextVectorization(maxTokens: 20_000, outputMode: TextOutputMode.TfIdf, ngrams: 2);
vectorizer.Adapt(train.Texts);                                  // the vocabulary and idf weights of the training mail only
Console.WriteLine($"vocabulary: {vectorizer.VocabularySize:N0} tokens, e.g. {string.Join(", ", vectorizer.GetVocabulary(includeSpecialTokens: false).Take(8))}");

var model = new Sequential([new Input([vectorizer.OutputWidth]), vectorizer, new Dropout(0.3f), new Dense(2, "softmax")], seed: 1);
model.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(), "accuracy");
var history = model.Fit(train.ToDataset(vectorizer), epochs: 2, batchSize: 32, seed: 1);
Console.WriteLine($"training accuracy {history["accuracy"][^1]:0.00%} after {history.Epochs} epochs");

var (testX, testY) = test.ToDataset(vectorizer).ToTensors();
var result = model.Evaluate(testX, testY, batchSize: 256);
Console.WriteLine($"test accuracy {result["accuracy"]:0.00%} (loss {result["loss"]:F4}) on {test.Count:N0} held-out messages");

// Raw text in, class probabilities out (the TextVectorization layer is part of the model).
string[] mail =
[
    "Subject: meeting notes\n\nHi Tom, attached are the notes from Tuesday's build review. Can we move the release to Friday?",
    "Subject: FREE money!!!\n\nClick here now to claim your $1,000,000 prize. Limited time offer, act now, no credit check!",
];
var probabilities = model.Predict(mail).ToArray();
for (int i = 0; i < mail.Length; i++)
    Console.WriteLine($"\"{mail[i].Split('\n')[0]}\": spam with probability {probabilities[2 * i + 1]:0.0%}");
return 0;
