import { expect } from 'chai';
import { axisTicks, renderSvgChart, tickLabel } from '../../src/plot/svgChart';

describe('renderSvgChart', () => {
  const specFixture = {
    title: 'time <vs> n',
    xLabel: 'n',
    yLabel: 'ms',
    xScale: 'log' as const,
    yScale: 'log' as const,
    series: [
      { label: 'exact', points: [{ x: 1024, y: 10 }, { x: 4096, y: 160 }] },
      { label: 'numpy & co', dashed: true, points: [{ x: 1024, y: 5 }, { x: 4096, y: 0 }] },
      { label: 'pareto', mode: 'points' as const, points: [{ x: 2048, y: 20, label: 'g=2' }] },
    ],
  };

  it('should draw one polyline per line series and a legend entry per series, escaping text', () => {
    const svg = renderSvgChart(specFixture);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).to.equal(true);
    expect(svg.match(/<polyline /g)).to.have.length(1); // numpy's 0 is dropped on a log axis, leaving one point
    expect(svg).to.include('time &lt;vs&gt; n');
    expect(svg).to.include('numpy &amp; co');
    expect(svg).to.include('stroke-dasharray');
    expect(svg).to.include('>g=2</text>');
    expect(svg.trim().endsWith('</svg>')).to.equal(true);
  });

  it('should place larger values further right and higher up on log axes', () => {
    const svg = renderSvgChart({ ...specFixture, series: [specFixture.series[0]] });
    const [p1, p2] = svg.match(/points="([^"]+)"/)![1].split(' ').map((p) => p.split(',').map(Number));
    expect(p2[0]).to.be.above(p1[0]);
    expect(p2[1]).to.be.below(p1[1]);
  });

  it('should say "no data" for an empty chart', () => {
    expect(renderSvgChart({ ...specFixture, series: [] })).to.include('no data');
  });
});

describe('axisTicks', () => {
  it('should give powers of ten on long log ranges and 1-2-5 steps on short ones', () => {
    expect(axisTicks(0.5, 20000, 'log')).to.deep.equal([1, 10, 100, 1000, 10000]);
    expect(axisTicks(1, 30, 'log')).to.deep.equal([1, 2, 5, 10, 20]);
    expect(axisTicks(0, 1, 'linear')).to.deep.equal([0, 0.2, 0.4, 0.6, 0.8, 1]);
  });

  it('should label powers of two in k', () => {
    expect([tickLabel(16384), tickLabel(1000), tickLabel(0.5), tickLabel(0.001)]).to.deep.equal(['16k', '1k', '0.5', '1e-3']);
  });
});
