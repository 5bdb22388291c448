// CIFAR-10 with a small convolutional network: the classic Keras notebook's
// last part, cell by cell. Each step quotes the Python it ports.
//
//   npm run build:ts                  # once: builds dist/, which `import 'xarxa'` resolves to
//   npx tsx examples/cifar10-cnn.ts
//
// The data comes from ~/.keras/datasets (or XARXA_DATASETS_DIR, or a download).
// This project's copy is the JPEG proxy of shared/data/cifar10-jpeg: make Keras'
// files with `python3 ../shared/data/cifar10-jpeg/make-keras-cifar10.py --out /tmp/cifar-keras`
// and run with XARXA_DATASETS_DIR=/tmp/cifar-keras. Set XARXA_CIFAR_TITLE=CIFAR-10
// when you load the original CIFAR-10 instead.
// The same run with a full report folder: npx xarxa run cifar10-cnn

import * as xa from 'xarxa';

const OUT = 'out/cifar10-cnn'; // where the figures go
const DATASET = process.env.XARXA_CIFAR_TITLE ?? 'CIFAR-10 (JPEG proxy)'; // named on every figure
const names = xa.datasets.cifar10.labelNames;

// (x_train, y_train), (x_test, y_test) = cifar10.load_data()
const [[xTrain, yTrain], [xTest, yTest]] = await xa.datasets.cifar10.loadData();
console.log('x_train', xTrain.shape, xTrain.dtype, 'y_train', yTrain.shape);
console.log('x_test ', xTest.shape, xTest.dtype, 'y_test ', yTest.shape);

// i = np.random.randint(0, len(x_train)); plt.imshow(x_train[i]); plt.title(labels[y_train[i][0]])
const i = Math.floor(Math.random() * xTrain.shape[0]);
await xa.plot.image(xTrain.slice(i, i + 1).reshape([32, 32, 3]), { title: `${DATASET}: ${names[yTrain.data[i]]}`, file: `${OUT}/sample.png` });
console.log(`Training image #${i} (${names[yTrain.data[i]]}): ${OUT}/sample.png`);

// The images keep their shape (32, 32, 3): only scale them.
// x_train = x_train.astype('float32') / 255
// x_test = x_test.astype('float32') / 255
const x = xTrain.astype('float32').div(255);
const xt = xTest.astype('float32').div(255);

// y_train = keras.utils.to_categorical(y_train, 10)
// y_test = keras.utils.to_categorical(y_test, 10)
const y = xa.utils.toCategorical(yTrain, 10);
const yt = xa.utils.toCategorical(yTest, 10);

// model = Sequential()
// model.add(Conv2D(32, (2, 2), strides=2, padding='same', activation='relu', input_shape=(32, 32, 3)))
// model.add(MaxPooling2D(pool_size=(2, 2), strides=1, padding='same'))
// model.add(Conv2D(16, (2, 2), strides=2, padding='same', activation='relu'))
// model.add(MaxPooling2D(pool_size=(2, 2), strides=1, padding='same'))
// model.add(Flatten())
// model.add(Dense(16, activation='relu'))
// model.add(Dense(10, activation='softmax'))
// model.summary()
const { Conv2D, MaxPooling2D, Flatten, Dense } = xa.layers;
const model = new xa.Sequential();
model.add(new Conv2D(32, [2, 2], { strides: 2, padding: 'same', activation: 'relu', inputShape: [32, 32, 3] }));
model.add(new MaxPooling2D({ poolSize: [2, 2], strides: 1, padding: 'same' }));
model.add(new Conv2D(16, [2, 2], { strides: 2, padding: 'same', activation: 'relu' }));
model.add(new MaxPooling2D({ poolSize: [2, 2], strides: 1, padding: 'same' }));
model.add(new Flatten());
model.add(new Dense(16, { activation: 'relu' }));
model.add(new Dense(10, { activation: 'softmax' }));
model.summary();

// model.compile(optimizer='sgd', loss='categorical_crossentropy', metrics=['accuracy'])
model.compile({ optimizer: 'sgd', loss: 'categorical_crossentropy', metrics: ['accuracy'] });

// history = model.fit(x_train, y_train, batch_size=128, epochs=10, validation_split=0.2)
const history = await model.fit(x, y, { batchSize: 128, epochs: 10, validationSplit: 0.2 });

// score = model.evaluate(x_test, y_test)
const [testLoss, testAccuracy] = (await model.evaluate(xt, yt)) as number[];
console.log('Test loss:', testLoss);
console.log('Test accuracy:', testAccuracy);

// Accuracy and loss, training and validation, per epoch.
await xa.plot.history(history, { file: `${OUT}/history.png`, title: `${DATASET}, CNN: training history` });
console.log(`Training history: ${OUT}/history.png`);

// y_pred_classes = np.argmax(model.predict(x_test), axis=1)
const yPredClasses = (await model.predict(xt)).argMax(1);

// confusion_matrix(y_test, y_pred_classes)
const cm = xa.metrics.confusionMatrix(yTest, yPredClasses);
await xa.plot.confusionMatrix(cm, { labels: names, file: `${OUT}/confusion-matrix.png`, title: `${DATASET}, CNN: confusion matrix` });
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
