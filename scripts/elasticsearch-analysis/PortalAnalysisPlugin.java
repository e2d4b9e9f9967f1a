// The analysis components haystack's elasticsearch7 backend names in every index it creates,
// for the minimal Elasticsearch distribution scripts/elasticsearch.sh installs.
//
// That distribution (the "integ-test" zip, the only 7.17 server build on Maven Central) leaves
// out the analysis-common module, and with it the `ngram` and `edge_ngram` token filters and
// the `snowball` analyzer: haystack's index settings and its default text mapping would be
// refused ("Unknown filter type [edge_ngram]", "failed to find analyzer [snowball]"). Elastic
// does not publish that module on its own, so this plugin provides the same three components,
// with the same names, parameters and defaults, from the Lucene classes the server already ships.
// scripts/elasticsearch.sh compiles it against the installed server's jars (lib/*) and installs
// it as plugins/portal-analysis. Nothing else of analysis-common is provided.
package portal.elasticsearch.analysis;

import java.util.Map;
import java.util.TreeMap;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.LowerCaseFilter;
import org.apache.lucene.analysis.StopFilter;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.analysis.en.EnglishPossessiveFilter;
import org.apache.lucene.analysis.ngram.EdgeNGramTokenFilter;
import org.apache.lucene.analysis.ngram.NGramTokenFilter;
import org.apache.lucene.analysis.snowball.SnowballFilter;
import org.apache.lucene.analysis.standard.StandardTokenizer;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.index.IndexSettings;
import org.elasticsearch.index.analysis.AbstractIndexAnalyzerProvider;
import org.elasticsearch.index.analysis.AbstractTokenFilterFactory;
import org.elasticsearch.index.analysis.Analysis;
import org.elasticsearch.index.analysis.AnalyzerProvider;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;

public class PortalAnalysisPlugin extends Plugin implements AnalysisPlugin {

    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        Map<String, AnalysisProvider<TokenFilterFactory>> filters = new TreeMap<>();
        filters.put("ngram", NGramFilterFactory::new);
        filters.put("edge_ngram", EdgeNGramFilterFactory::new);
        return filters;
    }

    @Override
    public Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> getAnalyzers() {
        Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> analyzers = new TreeMap<>();
        analyzers.put("snowball", SnowballAnalyzerProvider::new);
        return analyzers;
    }

    /** `ngram`: min_gram 1, max_gram 2, preserve_original false; the span is capped by index.max_ngram_diff. */
    static final class NGramFilterFactory extends AbstractTokenFilterFactory {
        private final int minGram;
        private final int maxGram;
        private final boolean preserveOriginal;

        NGramFilterFactory(IndexSettings indexSettings, Environment environment, String name, Settings settings) {
            super(indexSettings, name, settings);
            minGram = settings.getAsInt("min_gram", 1);
            maxGram = settings.getAsInt("max_gram", 2);
            preserveOriginal = settings.getAsBoolean("preserve_original", false);
            int allowed = indexSettings.getMaxNgramDiff();
            if (maxGram - minGram > allowed) {
                throw new IllegalArgumentException("The difference between max_gram and min_gram in NGram Tokenizer must be "
                    + "less than or equal to: [" + allowed + "] but was [" + (maxGram - minGram) + "]. This limit can be set "
                    + "by changing the [" + IndexSettings.MAX_NGRAM_DIFF_SETTING.getKey() + "] index level setting.");
            }
        }

        @Override
        public TokenStream create(TokenStream tokenStream) {
            return new NGramTokenFilter(tokenStream, minGram, maxGram, preserveOriginal);
        }
    }

    /** `edge_ngram`: grams from the front of each token; min_gram 1, max_gram 2, preserve_original false. */
    static final class EdgeNGramFilterFactory extends AbstractTokenFilterFactory {
        private final int minGram;
        private final int maxGram;
        private final boolean preserveOriginal;

        EdgeNGramFilterFactory(IndexSettings indexSettings, Environment environment, String name, Settings settings) {
            super(indexSettings, name, settings);
            minGram = settings.getAsInt("min_gram", 1);
            maxGram = settings.getAsInt("max_gram", 2);
            preserveOriginal = settings.getAsBoolean("preserve_original", false);
            if (!"front".equals(settings.get("side", "front"))) {
                throw new IllegalArgumentException("[" + name + "] only side [front] is supported here");
            }
        }

        @Override
        public TokenStream create(TokenStream tokenStream) {
            return new EdgeNGramTokenFilter(tokenStream, minGram, maxGram, preserveOriginal);
        }
    }

    /** `snowball`: standard tokenizer, lower case, stop words, Snowball stemmer (language English). */
    static final class SnowballAnalyzerProvider extends AbstractIndexAnalyzerProvider<Analyzer> {
        private final Analyzer analyzer;

        SnowballAnalyzerProvider(IndexSettings indexSettings, Environment environment, String name, Settings settings) {
            super(indexSettings, name, settings);
            String language = settings.get("language", settings.get("name", "English"));
            CharArraySet stopWords = Analysis.parseStopWords(environment, settings, EnglishAnalyzer.ENGLISH_STOP_WORDS_SET);
            analyzer = new SnowballAnalyzer(language, stopWords);
        }

        @Override
        public Analyzer get() {
            return analyzer;
        }
    }

    static final class SnowballAnalyzer extends Analyzer {
        private final String language;
        private final CharArraySet stopWords;

        SnowballAnalyzer(String language, CharArraySet stopWords) {
            this.language = language;
            this.stopWords = stopWords;
        }

        @Override
        protected TokenStreamComponents createComponents(String fieldName) {
            Tokenizer tokenizer = new StandardTokenizer();
            TokenStream result = tokenizer;
            if (language.equals("English") || language.equals("Porter") || language.equals("Lovins")) {
                result = new EnglishPossessiveFilter(result);
            }
            result = new LowerCaseFilter(result);
            result = new StopFilter(result, stopWords);
            result = new SnowballFilter(result, language);
            return new TokenStreamComponents(tokenizer, result);
        }

        @Override
        protected TokenStream normalize(String fieldName, TokenStream in) {
            return new LowerCaseFilter(in);
        }
    }
}
