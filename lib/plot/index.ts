// xa.plot: figures for training runs, written as PNG or SVG by file extension.

export { history, historySpec, type HistoryLike, type HistoryPlotOptions } from './history.js';
export { confusionMatrix, confusionMatrixSpec, type ConfusionMatrixPlotOptions } from './confusion-matrix.js';
export { images, image, type ImagesPlotOptions, type ImagePlotOptions } from './images.js';
export { type ImagesInput } from './image-data.js';
export { vegaLiteToSvg, svgToPng, saveFigure } from './render.js';
export { textRenders } from './fonts.js';
