// CIFAR-10 with the same small dense network as MNIST: the classic Keras
// notebook's second part, cell by cell. Each step quotes the Python it ports.
//
//   npm run build:ts                  # once: builds dist/, which `import 'xarxa'` resolves to
//   npx tsx examples/cifar10-dense.ts
//
// The data comes from ~/.keras/datasets (or XARXA_DATASETS_DIR, or a download).
// This project's copy is the JPEG proxy of shared/data/cifar10-jpeg: make Keras'
// files with `python3 ../shared/data/cifar10-jpeg/make-keras-cifar10.py --out /tmp/cifar-keras`
// and run with XARXA_DATASETS_DIR=/tmp/cifar-keras. Set XARXA_CIFAR_TITLE=CIFAR-10
// when you load the original CIFAR-10 instead.
// The same run with a full report folder: npx xarxa run cifar10-dense

import * as xa from 'xarxa';

const OUT = 'out/cifar10-dense'; // where the figures go
const DATASET = process.env.XARXA_CIFAR_TITLE ?? 'CIFAR-10 (JPEG proxy)'; // named on every figure
const names = xa.datasets.cifar10.labelNames; // airplane, automobile, bird, ...

// from keras.datasets import cifar10
// (x_train, y_train), (x_test, y_test) = cifar10.load_data()
const [[xTrain, yTrain], [xTest, yTest]] = await xa.datasets.cifar10.loadData();
console.log('x_train', xTrain.shape, xTrain.dtype, 'y_train', yTrain.shape); // [50000, 32, 32, 3] uint8, [50000, 1]
console.log('x_test ', xTest.shape, xTest.dtype, 'y_test ', yTest.shape);

// i = np.random.randint(0, len(x_train)); plt.imshow(x_train[i]); plt.title(labels[y_train[i][0]])
const i = Math.floor(Math.random() * xTrain.shape[0]);
const label = names[yTrain.data[i]];
await xa.plot.image(xTrain.slice(i, i + 1).reshape([32, 32, 3]), { title: `${DATASET}: ${label}`, file: `${OUT}/sample.png` });
console.log(`Training image #${i} (${label}): ${OUT}/sample.png`);

// x_train = x_train.reshape(50000, 3072).astype('float32') / 255
// x_test = x_test.reshape(10000, 3072).astype('float32') / 255
const x = xTrain.reshape([-1, 32 * 32 * 3]).astype('float32').div(255);
const xt = xTest.reshape([-1, 32 * 32 * 3]).astype('float32').div(255);

// y_train = keras.utils.to_categorical(y_train, 10)
// y_test = keras.utils.to_categorical(y_test, 10)
const y = xa.utils.toCategorical(yTrain, 10);
const yt = xa.utils.toCategorical(yTest, 10);

// model = Sequential()
// model.add(Dense(32, activation='relu', input_shape=(3072,)))
// model.add(Dense(16, activation='relu'))
// model.add(Dense(10, activation='softmax'))
// model.summary()
const model = new xa.Sequential();
model.add(new xa.layers.Dense(32, { activation: 'relu', inputShape: [3072] }));
model.add(new xa.layers.Dense(16, { activation: 'relu' }));
model.add(new xa.layers.Dense(10, { activation: 'softmax' }));
model.summary();

// model.compile(optimizer='sgd', loss='categorical_crossentropy', metrics=['accuracy'])
model.compile({ optimizer: 'sgd', loss: 'categorical_crossentropy', metrics: ['accuracy'] });

// history = model.fit(x_train, y_train, batch_size=128, epochs=20)
const history = await model.fit(x, y, { batchSize: 128, epochs: 20 });

// score = model.evaluate(x_test, y_test)
const [testLoss, testAccuracy] = (await model.evaluate(xt, yt)) as number[];
console.log('Test loss:', testLoss);
console.log('Test accuracy:', testAccuracy);

// plt.plot(history.history['accuracy']); plt.plot(history.history['loss']) ...
await xa.plot.history(history, { file: `${OUT}/history.png`, title: `${DATASET}, dense network: training history` });
console.log(`Training history: ${OUT}/history.png`);

// y_pred_classes = np.argmax(model.predict(x_test), axis=1)
const yPredClasses = (await model.predict(xt)).argMax(1);

// confusion_matrix(y_test, y_pred_classes)
const cm = xa.metrics.confusionMatrix(yTest, yPredClasses);
await xa.plot.confusionMatrix(cm, { labels: names, file: `${OUT}/confusion-matrix.png`, title: `${DATASET}, dense network: confusion matrix` });
console.log(`Confusion matrix: ${OUT}/confusion-matrix.png`);

// print(classification_report(y_test, y_pred_classes, target_names=labels))
console.log(xa.metrics.classificationReport(yTest, yPredClasses, { labelNames: names }));

// errors = np.nonzero(y_pred_classes != y_test.ravel())[0]
const errors = xa.metrics.misclassified(yTest, yPredClasses);
console.log(`${errors.length} of ${xTest.shape[0]} test images are misclassified; the first ten:`);
for (const e of errors.slice(0, 10)) console.log(`  #${e.index}: predicted ${names[e.predicted]}, real ${names[e.real]}`);

// plt.imshow(x_test[errors[0]]); plt.title(f'Predicted: {...}; Real: {...}')
if (errors.length > 0) {
  const e = errors[0];
  await xa.plot.image(xTest.slice(e.index, e.index + 1).reshape([32, 32, 3]), {
    title: `${DATASET}: predicted ${names[e.predicted]}; real ${names[e.real]}`,
    file: `${OUT}/misclassified.png`,
  });
  console.log(`A misclassified test image (#${e.index}): ${OUT}/misclassified.png`);
}
